import { cors } from "@connectrpc/connect";

export const CORS_ALLOW_METHODS = cors.allowedMethods.join(", ");
export const CORS_ALLOW_HEADERS = [...cors.allowedHeaders, "Authorization"].join(", ");
export const CORS_EXPOSE_HEADERS = cors.exposedHeaders.join(", ");

/** Headers for a page on an origin the operator listed (--cors-allow-origin);
 * the origin is one of that list, never copied from an unlisted request. */
export function corsHeaders(listedOrigin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": listedOrigin,
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
    Vary: "Origin",
  };
}

export function preflightHeaders(listedOrigin: string): Record<string, string> {
  return {
    ...corsHeaders(listedOrigin),
    "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
    "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
    "Access-Control-Max-Age": "7200",
  };
}
