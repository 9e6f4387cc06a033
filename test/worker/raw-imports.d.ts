/** Vite's `?raw` imports: a file's text, for the tests that check the README against the repository. */
declare module "*?raw" {
  const text: string;
  export default text;
}
