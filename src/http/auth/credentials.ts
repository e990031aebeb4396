const BEARER = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;

/**
 * The API key a request presents: `X-API-Key`, else `Authorization: Bearer`. `header` returns
 * '' or undefined for a header that is absent (uWS gives '').
 */
export function presentedKey(header: (lowerCaseName: string) => string | undefined): string | undefined {
  const direct = header('x-api-key')?.trim();
  if (direct) return direct;
  const authorization = header('authorization');
  if (!authorization) return undefined;
  return BEARER.exec(authorization)?.[1];
}
