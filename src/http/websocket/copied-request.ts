import type { HttpRequest } from '../uws.js';

/**
 * A copy of an upgrade request that outlives the uWS callback: uWS's own request is valid only
 * until that callback returns, so an upgrade decided later (a verdict from a shared store) hands
 * this copy to the route's upgrade handler instead. `parameters` is how many `:name` segments the
 * route's pattern has.
 */
export function copyRequest(req: HttpRequest, parameters: number): HttpRequest {
  const headers = new Map<string, string>();
  req.forEach((key, value) => headers.set(key, value));
  const params = Array.from({ length: parameters }, (_, i) => req.getParameter(i));
  const url = req.getUrl();
  const method = req.getMethod();
  const caseSensitiveMethod = req.getCaseSensitiveMethod();
  const query = req.getQuery() ?? '';
  let searchParams: URLSearchParams | undefined;
  const copy = {
    getHeader: (key: unknown) => headers.get(String(key)) ?? '',
    getParameter: (index: number) => params[index] ?? '',
    getUrl: () => url,
    getMethod: () => method,
    getCaseSensitiveMethod: () => caseSensitiveMethod,
    getQuery: (key?: string) => {
      if (key === undefined) return query;
      // uWS answers a key that is absent with undefined, and decodes the value of one that is there.
      return (searchParams ??= new URLSearchParams(query)).get(key) ?? undefined;
    },
    forEach: (cb: (key: string, value: string) => void) => headers.forEach((value, key) => cb(key, value)),
    setYield: () => copy,
  };
  return copy as unknown as HttpRequest;
}

/** How many `:name` segments a uWS route pattern has, e.g. 1 for `/v1/ws/predict/:model`. */
export function parameterCount(pattern: string): number {
  return pattern.split('/').filter((segment) => segment.startsWith(':')).length;
}
