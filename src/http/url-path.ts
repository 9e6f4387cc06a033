/**
 * The path of an absolute URL, without parsing it whole (`new URL`): the Worker reads it on every
 * request, to serve `POST /check` without the router (index.ts).
 */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query === -1 ? undefined : query);
}
