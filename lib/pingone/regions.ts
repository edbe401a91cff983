/** PingOne regions and their top-level domains (pingone-api.md §5). */
export const REGION_TLDS = {
  NA: 'com',
  EU: 'eu',
  CA: 'ca',
  AU: 'com.au',
  SG: 'sg',
  AP: 'asia',
} as const;

export type PingOneRegion = keyof typeof REGION_TLDS;

export const REGIONS = Object.keys(REGION_TLDS) as PingOneRegion[];

export function isRegion(value: unknown): value is PingOneRegion {
  return typeof value === 'string' && Object.hasOwn(REGION_TLDS, value);
}

/**
 * Expands a base-URL template for a region. `{tld}` becomes the region's top-level domain and `{region}`
 * the lower-case region code, so one override can serve every region (a proxy, a simulator).
 */
export function expandRegionTemplate(template: string, region: PingOneRegion): string {
  return template.replaceAll('{tld}', REGION_TLDS[region]).replaceAll('{region}', region.toLowerCase());
}

export const DEFAULT_API_URL_TEMPLATE = 'https://api.pingone.{tld}/v1';
export const DEFAULT_AUTH_URL_TEMPLATE = 'https://auth.pingone.{tld}';
