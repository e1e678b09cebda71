"use client";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { ApiError, isStatus } from "@/lib/api";
import { keys } from "@/lib/queries";
import { ToastProvider } from "./ui/toast";

function makeClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    // A 401 anywhere means the session ended (expired, signed out in another tab): re-check it, and the
    // dashboard layout sends the user to /login.
    queryCache: new QueryCache({
      onError: (err, query) => {
        if (isStatus(err, 401) && query.queryKey[0] !== "session")
          void client.invalidateQueries({ queryKey: keys.session });
      },
    }),
    mutationCache: new MutationCache({
      onError: (err) => {
        if (isStatus(err, 401)) void client.invalidateQueries({ queryKey: keys.session });
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        refetchOnWindowFocus: true,
        // Client errors (403, 404, 422) will not fix themselves; retry only network and server failures.
        retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      },
    },
  });
  return client;
}

/** Client-side providers: TanStack Query and toasts. */
export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(makeClient);
  return (
    <QueryClientProvider client={client}>
      <ToastProvider>{children}</ToastProvider>
    </QueryClientProvider>
  );
}
