/** The country whose users a region serves in these examples (the region nearest to them). */
const COUNTRY_OF_REGION: Readonly<Record<string, string>> = {
  'us-east-1': 'US',
  'sa-east-1': 'BR',
  'eu-west-1': 'IE',
  'eu-central-1': 'DE',
  'ap-southeast-1': 'SG',
};

/** The country of the users nearest to `region` (`ZZ`, "unknown", for a region not listed). */
export function countryOf(region: string): string {
  return COUNTRY_OF_REGION[region] ?? 'ZZ';
}
