// The two prompts `berth login` uses, in a module of their own: prompt.ts loads it only when it has to ask, and
// esbuild keeps only these two of @inquirer/prompts (not its editor prompt with every text encoding) in the bundle.
export { input, password } from "@inquirer/prompts";
