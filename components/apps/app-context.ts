// The app page's params, shared by its tabs.
import { useParams } from "next/navigation";

/** The app name from the URL (/apps/[app]/...). */
export function useAppName(): string {
  const params = useParams<{ app: string }>();
  return decodeURIComponent(params.app ?? "");
}
