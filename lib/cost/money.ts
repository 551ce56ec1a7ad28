/** Dollars, rounded to the dollar, with thousands separators: `$21,078`. */
export const usd = (n: number) => `$${Math.round(n).toLocaleString('en-US')}`;
