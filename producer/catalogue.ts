/**
 * The small site the simulated users browse: its pages, where sessions land,
 * how users move between pages and the few properties events carry. Pure;
 * every property is a precomputed JSON fragment so events cost no JSON work.
 */
import type { Random } from "./random.ts";

const PRODUCTS = 24;
const POSTS = 8;

/** Every page of the site, by index. */
export const PAGES: readonly string[] = [
  "/",
  "/search",
  "/products",
  ...Array.from({ length: PRODUCTS }, (_, i) => `/products/${i + 1}`),
  "/cart",
  "/checkout",
  "/account",
  "/blog",
  ...Array.from({ length: POSTS }, (_, i) => `/blog/${i + 1}`),
  "/help",
];

const at = (path: string) => PAGES.indexOf(path);
const HOME = at("/");
const SEARCH = at("/search");
const LISTING = at("/products");
const FIRST_PRODUCT = at("/products/1");
const CART = at("/cart");
const CHECKOUT = at("/checkout");
const ACCOUNT = at("/account");
const BLOG = at("/blog");
const FIRST_POST = at("/blog/1");
const HELP = at("/help");

/** A weighted choice among page indexes. */
class PageTable {
  readonly #pages: Uint16Array;
  readonly #cumulative: Float64Array;

  constructor(weights: ReadonlyMap<number, number>) {
    this.#pages = Uint16Array.from(weights.keys());
    this.#cumulative = new Float64Array(this.#pages.length);
    const values = [...weights.values()];
    const total = values.reduce((sum, weight) => sum + weight, 0);
    let running = 0;
    values.forEach((weight, i) => this.#cumulative[i] = (running += weight) / total);
  }

  pick(random: Random): number {
    const u = random.float();
    const cumulative = this.#cumulative;
    for (let i = 0; i < cumulative.length - 1; i++) if (u < cumulative[i]) return this.#pages[i];
    return this.#pages[cumulative.length - 1];
  }
}

/** Weights that spread `total` over `count` consecutive pages, the first ones most popular. */
function popular(first: number, count: number, total: number): [number, number][] {
  const raw = Array.from({ length: count }, (_, i) => 1 / (i + 1));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((weight, i) => [first + i, (total * weight) / sum]);
}

function table(pairs: readonly [number, number][]): PageTable {
  const weights = new Map<number, number>();
  for (const [page, weight] of pairs) weights.set(page, (weights.get(page) ?? 0) + weight);
  return new PageTable(weights);
}

const ENTRY = table([
  [HOME, 35],
  [SEARCH, 8],
  [LISTING, 7],
  ...popular(FIRST_PRODUCT, PRODUCTS, 30),
  ...popular(FIRST_POST, POSTS, 15),
  [HELP, 3],
  [ACCOUNT, 2],
]);

const FROM_BROWSING = table([
  ...popular(FIRST_PRODUCT, PRODUCTS, 60),
  [SEARCH, 10],
  [LISTING, 10],
  [BLOG, 5],
  [CART, 5],
  [ACCOUNT, 5],
  [HOME, 5],
]);
const FROM_PRODUCT = table([
  ...popular(FIRST_PRODUCT, PRODUCTS, 45),
  [CART, 20],
  [LISTING, 10],
  [SEARCH, 10],
  [HOME, 10],
  [HELP, 5],
]);
const FROM_CART = table([
  [CHECKOUT, 45],
  ...popular(FIRST_PRODUCT, PRODUCTS, 30),
  [HOME, 15],
  [HELP, 10],
]);
const FROM_CHECKOUT = table([[HOME, 40], [ACCOUNT, 30], [HELP, 30]]);
const FROM_ACCOUNT = table([[HOME, 50], ...popular(FIRST_PRODUCT, PRODUCTS, 30), [HELP, 20]]);
const FROM_BLOG = table([
  ...popular(FIRST_POST, POSTS, 50),
  [BLOG, 15],
  [HOME, 15],
  ...popular(FIRST_PRODUCT, PRODUCTS, 20),
]);
const FROM_HELP = table([[HOME, 50], [ACCOUNT, 25], [SEARCH, 25]]);

const NEXT: readonly PageTable[] = PAGES.map((_, page) => {
  if (page >= FIRST_PRODUCT && page < FIRST_PRODUCT + PRODUCTS) return FROM_PRODUCT;
  if (page === BLOG || (page >= FIRST_POST && page < FIRST_POST + POSTS)) return FROM_BLOG;
  if (page === CART) return FROM_CART;
  if (page === CHECKOUT) return FROM_CHECKOUT;
  if (page === ACCOUNT) return FROM_ACCOUNT;
  if (page === HELP) return FROM_HELP;
  return FROM_BROWSING;
});

/** The page a new session lands on. */
export function entryPage(random: Random): number {
  return ENTRY.pick(random);
}

/** The page a user views next, coming from `current`. */
export function nextPage(current: number, random: Random): number {
  return NEXT[current].pick(random);
}

/** A weighted choice among precomputed `properties` objects, as JSON text. */
class FragmentTable {
  readonly #fragments: readonly string[];
  readonly #cumulative: readonly number[];

  constructor(key: string, values: readonly [string | number, number][]) {
    this.#fragments = values.map(([value]) => JSON.stringify({ [key]: value }));
    const total = values.reduce((sum, [, weight]) => sum + weight, 0);
    let running = 0;
    this.#cumulative = values.map(([, weight]) => (running += weight) / total);
  }

  pick(random: Random): string {
    const u = random.float();
    for (let i = 0; i < this.#cumulative.length - 1; i++) {
      if (u < this.#cumulative[i]) return this.#fragments[i];
    }
    return this.#fragments[this.#fragments.length - 1];
  }
}

const LANDING_REFERRER = new FragmentTable("referrer", [
  ["direct", 40],
  ["search", 30],
  ["social", 15],
  ["email", 10],
  ["ads", 5],
]);
const INTERNAL_REFERRER = `{"referrer":"internal"}`;
const SCROLL_DEPTH = new FragmentTable("depth", [[25, 40], [50, 30], [75, 20], [100, 10]]);
const CLICK_TARGET = new FragmentTable("target", [
  ["link", 40],
  ["button", 25],
  ["image", 15],
  ["menu", 10],
  ["add_to_cart", 10],
]);

/** The JSON text of an event's `properties`, or "" for types without properties. */
export function propertiesJson(
  eventType: string,
  landing: boolean,
  random: Random,
): string {
  switch (eventType) {
    case "view":
      return landing ? LANDING_REFERRER.pick(random) : INTERNAL_REFERRER;
    case "scroll":
      return SCROLL_DEPTH.pick(random);
    case "click":
      return CLICK_TARGET.pick(random);
    default:
      return "";
  }
}
