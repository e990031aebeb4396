/** Path and query abuse beyond what the document's parameters generate: traversal, encodings, unicode. */
import { httpCase, type HostileCase } from './cases.js';

export function paramCases(): HostileCase[] {
  const get = (target: string, what: string, expected: string, check?: (body: string) => string | undefined) => {
    const c = httpCase('params', what, { method: 'GET', target }, expected);
    if (check) {
      const run = c.run;
      c.run = async (port) => {
        const out = await run(port);
        const leak = check(out.body ?? '');
        return leak ? { ...out, got: `${out.got} (${leak})` } : out;
      };
    }
    return c;
  };
  // A traversal that reaches package.json or /etc/passwd would show their contents.
  const noLeak = (body: string) => (/"devDependencies"|root:x:0:0/.test(body) ? 'leaked a file' : undefined);
  // The detection list's filters and paging: [query string, what, expected].
  const detectionQueries: [string, string, string][] = [
    ['cameraId=%E6%A8%A1', 'unicode filter value', '200'],
    [`cameraId=${'%E6%A8%A1'.repeat(255)}`, '255 CJK characters as a filter', '200'],
    ['cameraId=%ED%A0%80', 'UTF-8-encoded lone surrogate as a filter', '400'],
    ['cameraId=%C3%28', 'invalid UTF-8 as a filter', '400'],
    ['cameraId=%', 'a lone % in a filter', '400'],
    ['cameraId=a%', 'a trailing % in a filter', '400'],
    ['limit=%31%30', 'percent-encoded digits (valid)', '200'],
    ['limit', 'a parameter without a value', '400'],
    ['limit=1&limit=2', 'a parameter given twice', '400'],
    ['label=car&label=truck', 'a filter given twice', '400'],
    ['cursor=%00%00', 'NUL cursor', '400'],
    [`cursor=${'Zm9v'.repeat(500)}`, 'a cursor of 2000 characters', '400'],
    ['since=2026-02-30T00:00:00Z&until=2026-03-01T00:00:00Z', 'since 30 February', '400'],
    ['since=10&until=5', 'until before since (valid, matches nothing)', '200'],
  ];
  return [
    get('/ui/%2e%2e%2f%2e%2e%2fpackage.json', 'traversal %2e%2e%2f in a UI asset', '404', noLeak),
    get('/ui/..%2f..%2f..%2fpackage.json', 'traversal ..%2f in a UI asset', '404', noLeak),
    get('/ui/..%5c..%5cpackage.json', 'traversal ..%5c in a UI asset', '404', noLeak),
    get('/ui/%252e%252e%252fpackage.json', 'double-encoded traversal in a UI asset', '404', noLeak),
    get('/ui/../../package.json', 'raw ../ in a UI asset', '404', noLeak),
    get('/docs/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json', 'traversal in a docs asset', '404', noLeak),
    get('/docs/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', 'traversal to /etc/passwd in a docs asset', '404', noLeak),
    get('/ui/%00', 'NUL as a UI asset', '404'),
    get('/ui/index.html%00.png', 'NUL-truncated UI asset name', '404'),
    get('/v1/models/cls%2fpredict', 'encoded slash in a model name', '404'),
    get('/v1/models/cls%2F..%2F..%2Fhealth', 'encoded traversal in a model name', '404'),
    get('/v1/models/', 'trailing slash', '404 | 200'),
    get('//v1/models', 'double slash', '404'),
    get('/V1/MODELS', 'upper-case path', '404'),
    get('/v1/models/%F0%9F%98%80', 'emoji model name', '404'),
    get('/v1/models/%ED%A0%80', 'UTF-8-encoded lone surrogate as a model name', '400'),
    get('/v1/models/%FF', 'byte 0xFF as a model name', '400'),
    get('/v1/models/%', 'a lone %', '400'),
    get(`/v1/jobs/${'j'.repeat(5000)}`, 'job id of 5000 characters', '404'),
    get(`/v1/detections/${'%41'.repeat(2000)}`, 'detection id of 2000 percent-escapes', '404'),
    get('/v1/images/ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789', 'sha256 in mixed case, not stored', '404'),
    get(`/v1/images/${'a'.repeat(63)}`, 'sha256 of 63 hex digits', '400'),
    get(`/v1/images/${'a'.repeat(65)}`, 'sha256 of 65 hex digits', '400'),
    get(`/v1/images/${'g'.repeat(64)}`, 'sha256 of 64 non-hex letters', '400'),
    ...detectionQueries.map(([query, what, expected]) => get(`/v1/detections?${query}`, what, expected)),
    get('/v1/stats?latest=101', 'latest above 100', '400'),
    get('/v1/stats?bucket=week', 'unknown bucket', '400'),
    get('/v1/jobs?status=queued,running', 'a list where one status is expected', '400'),
    get(`/v1/jobs?model=${'%00'.repeat(10)}`, 'NUL model filter', '400 | 200'),
    get(`/v1/detections?${Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&')}`, '500 unknown parameters', '400'),
    get('/v1/models?%zz=1', 'an invalid escape in a parameter name', '400'),
    get('/health/live?%zz', 'an invalid escape on a public route', '200 | 400'),
  ];
}
