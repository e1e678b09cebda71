import { redirect } from "next/navigation";

/** The dashboard starts at the apps list (which sends signed-out visitors to /login). */
export default function Home() {
  redirect("/apps");
}
