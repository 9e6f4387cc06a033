import { maxCost, type NamedTier } from "../config/tiers.ts";
import { costAbove } from "./check-input.ts";
import { type Decision, decisionFrom, exemptDecision, ROUNDING } from "./decision.ts";
import { type BucketState, type CallOutcome, limitsText, refilledAt } from "./script-reply.ts";

/**
 * Buckets one isolate remembers, least recently used out first (`#entry` and `#dropOldest` say how
 * nearly).
 */
const KNOWN_BUCKETS = 10_000;

/**
 * How long a reply may settle denials, in ms. An operator who raises an identifier's limit (an
 * override, an exemption, a reset) reaches every isolate's denials within this.
 */
export const DENY_CACHE_MAX_AGE_MS = 1000;

/**
 * Tokens of slack per token of capacity before a denial is taken as certain: the script lets a
 * count within `ROUNDING` of the cost through, and Redis may reach its count by other roundings than
 * the isolate's (refills in several steps, by several writers), each step erring by about 2^-52 of
 * the capacity.
 */
const DENIAL_SLACK = 2 * ROUNDING;

/** Requests in a lease period from which a bucket counts as busy, and a lease pays for its call. */
const BUSY_REQUESTS = 2;

/**
 * The shortest stretch of a lease period a rate is measured over, as a share of the period. Early in a
 * period a lease is the rate so far times the lease time, but a few requests in its first milliseconds
 * say little of a rate: measured over a tenth of the period at least, a lease is at most ten times the
 * tokens asked so far.
 */
const SHORTEST_RATE_WINDOW = 1 / 10;

/** Tokens taken on lease by one call, for this isolate to grant. */
interface Lease {
  /** Its tokens not granted yet. */
  left: number;
  /** When it stops granting: `LEASE_MS` after the call that took it was sent. */
  until: number;
}

/**
 * The last share of a lease (or of a reply's trust for denials) in which it is renewed, by time or by
 * tokens, when two round trips to Redis take less: the renewal's reply is then in well before the
 * end, however its round trip varies. Each period then costs one call, as before, plus a give-back
 * when demand fell.
 */
const RENEWAL_SHARE = 1 / 10;

/** What an isolate knows of one bucket, and what it holds of it. */
interface Known {
  /** The tier's configured limits when learnt: an entry made under another config is never used. */
  tierLimits: string;
  /** Redis's buckets as the last reply left them, this isolate's lease out of them. */
  redis?: BucketState;
  /** When that reply came, on this isolate's clock. */
  repliedAt: number;
  /** Tokens out on lease to others at that reply: they may come back to Redis. */
  others: number;
  /**
   * This isolate's leases, the earliest ending first: the one it grants from and, in that one's last
   * round trips, the next one, taken ahead of its end. Ended ones wait here for a call to give back
   * what is left of them.
   */
  leases: Lease[];
  /** Tokens Redis counts as out on this isolate's leases: those held, and those granted since the last call. */
  owed: number;
  /**
   * Tokens its calls since the last reply give back: Redis may hold them already, so they count as
   * the bucket's until a reply says where they are.
   */
  returning: number;
  /** Until when an exemption may be answered without Redis (a busy exempt identifier). */
  exemptUntil: number;
  /** This isolate's last call on the bucket when it got no reply: what the next call must name. */
  lost?: LostCall;
  /** Replies learnt from so far: a call that sees more come back while it is out overlapped another. */
  replies: number;
  /** Whether the call whose reply `redis` comes from gave tokens back. */
  gaveBack: boolean;
  /** The isolate's count of moves (`#entry`) when this record was last moved to the newest end. */
  movedAt: number;
  /** Requests and tokens asked this lease period and the one before, to size a lease. */
  periodStart: number;
  requests: number;
  tokens: number;
  lastTokens: number;
  lastRequests: number;
}

/** A call that got no reply: it may have run, and leased. */
interface LostCall {
  serial: string;
  /** What it was to settle and give back, for the next call to carry while it still can. */
  terms: LeaseTerms;
  /** Callers' clock when it was asked. */
  at: number;
}

/**
 * Why a call for a bucket goes out: to decide requests, to take the next lease ahead of the end of
 * the one the isolate grants from, or only to give back what is left of ended leases.
 */
export type CallPurpose = "decide" | "renew" | "give back";

/** What a call for a bucket settles, gives back and asks for, from `KnownBuckets.leaseFor`. */
export interface LeaseTerms {
  /** Tokens of this isolate's leases no longer out after this call: granted, or given back now. */
  settled: number;
  /** Of those, the ones never granted, given back. */
  returned: number;
  /** When they stopped granting (callers' clock, ms): a later give-back comes back less the refill since. */
  ended: number;
  /** Tokens asked on lease. */
  wanted: number;
  /** This isolate's last call on the bucket, if it got no reply (the script looks it up). */
  lost?: string;
  /**
   * The replies on the bucket this isolate had learnt from when the call went out; one that came
   * since was another call's, out at the same time. Absent: the call overlapped none.
   */
  seen?: number;
}

/**
 * What this isolate knows of each bucket, one record per bucket: what lets it answer without Redis.
 *
 * - **Certain denials.** Every reply gives each bucket's exact tokens at the bucket's time. After
 *   that, other callers take tokens, and give back at most the tokens they held on lease then
 *   (`others`, which the script counts); the refill adds at most `limit / window` per ms. So `tokens
 *   + others + this isolate's leases + what its calls since are giving back + refill since` bounds
 *   what Redis will find, and a request costing more than that in any bucket would be denied by Redis
 *   too: it is denied here, and never one that Redis would allow (within `DENY_CACHE_MAX_AGE_MS` of
 *   an operator's change). Its figures are bounds: `tokens_remaining` never fewer, `retry_after`
 *   and `reset_at` never later, than Redis would say (as `test/worker/deny-cache.test.ts` checks).
 * - **Leased admissions.** Tokens leased to this isolate are out of Redis, so no one else can grant
 *   them: a request whose cost the lease holds is allowed at once, until the lease is spent, `leaseMs`
 *   after the call that took it was sent, or a request it cannot hold goes to Redis (whose call gives it
 *   back first: no request after that one takes its tokens before it). Its figures are those of Redis's
 *   buckets with the unspent lease back in them: exactly what Redis would say while no other isolate
 *   uses the bucket. Within two round trips of its end or its last tenth (by its time, or by its tokens
 *   at the bucket's rate), the next lease is due (`renewalDue`): a call takes it while this one still
 *   grants, so a busy bucket's requests never wait for Redis. Each lease keeps its own end, so no token
 *   is granted later than `leaseMs` after Redis let it go; a call gives back what is left of the ended
 *   ones. A busy bucket's certain denials are renewed alike: the reply they rest on is asked again
 *   before it is too old to trust.
 * - **Demand.** The requests and tokens asked of a bucket per lease period: a lease is asked only on
 *   a busy bucket, as large as the tokens asked per lease period at the rate of this one so far (over
 *   a tenth of it at least) or of the one before, whichever is more. So a bucket that turns busy gets
 *   a lease for its rate within a round trip or two, not one that doubles each round trip.
 */
export class KnownBuckets {
  readonly #entries = new Map<string, Known>();
  readonly #leaseMs: number;
  readonly #recordMs: number;
  readonly #maxEntries: number;
  /** The isolate's round trip to Redis, smoothed over its calls' replies (ms). */
  #roundTripMs = 0;
  /** Records moved to the newest end of `#entries` so far, new ones included. */
  #moves = 0;

  /** `recordMs`: how long the script surely keeps a call's record (its retention, less clock slack). */
  constructor(leaseMs: number, recordMs: number, maxEntries = KNOWN_BUCKETS) {
    this.#leaseMs = leaseMs;
    this.#recordMs = recordMs;
    this.#maxEntries = maxEntries;
  }

  /**
   * The answer to `cost` on `key` at `nowMs` when the isolate knows it (a leased admission, an
   * exemption, a certain denial, or a cost above what the identifier's buckets could ever hold);
   * undefined when Redis must decide. `count` records the request in the bucket's demand.
   */
  answer(key: string, tier: NamedTier, cost: number, nowMs: number, count = true): Decision | undefined {
    const known = this.#entry(key, tier, nowMs);
    if (count) {
      known.requests += 1;
      known.tokens += cost;
    }
    if (nowMs < known.exemptUntil) return exemptDecision(maxCost(tier), "isolate");
    const { redis } = known;
    if (redis === undefined) return undefined;
    if (grant(known.leases, cost, nowMs)) {
      const atMs = Math.max(redis.timeMs, nowMs);
      const tokens = refilledAt(this.#withLease(known, redis, cost), atMs).map((count) => count - cost);
      return decisionFrom(true, { limits: redis.limits, tokens, timeMs: atMs }, cost, nowMs, "isolate");
    }
    const denial = this.#certainDenial(known, redis, cost, nowMs);
    // Redis decides it, in a call that gives the leases back first: no later request takes their tokens
    // ahead of it, as none would from one bucket taking requests in order.
    if (denial === undefined) stopGranting(known.leases, nowMs);
    return denial;
  }

  /** A denial Redis would surely give `cost` on what the isolate knows, or undefined. */
  #certainDenial(known: Known, redis: BucketState, cost: number, nowMs: number): Decision | undefined {
    if (nowMs - known.repliedAt > DENY_CACHE_MAX_AGE_MS) return undefined;
    const capacity = Math.min(...redis.limits.map(({ limit }) => limit));
    if (cost > capacity) throw costAbove(capacity);
    const atMs = Math.max(redis.timeMs, nowMs);
    const bounds = refilledAt(this.#withLease(known, redis, known.others), atMs);
    const fits = bounds.every((bound, i) => bound + DENIAL_SLACK * (redis.limits[i]?.limit ?? 0) >= cost);
    if (fits) return undefined;
    return decisionFrom(
      false,
      { limits: redis.limits, tokens: bounds, timeMs: atMs },
      cost,
      nowMs,
      "isolate",
    );
  }

  /**
   * Whether a call should renew what this isolate knows of a busy bucket, asked after it answered a
   * request of `cost` alone: the lease it grants from (or its exemption) ends within two round trips
   * to Redis or its last tenth, by its time or by its tokens at the bucket's rate, or cannot grant
   * `cost` again (or is spent), and no next lease is held yet; or the reply its certain denials rest
   * on is that near the end of its trust. The call goes out while the isolate still answers, so a
   * busy bucket's requests never wait for Redis.
   */
  renewalDue(key: string, cost: number, nowMs: number): boolean {
    const known = this.#entries.get(key);
    if (known === undefined) return false;
    if (known.exemptUntil > nowMs) return known.exemptUntil - nowMs <= this.#ahead(this.#leaseMs);
    // The leases that still grant: a spent one, not ended yet, grants nothing, and holds no renewal back.
    let lease: Lease | undefined;
    let live = 0;
    let spent = false;
    for (const each of known.leases) {
      if (nowMs >= each.until) continue;
      if (each.left === 0) {
        spent = true;
        continue;
      }
      lease ??= each;
      live += 1;
    }
    if (lease === undefined && spent) return true;
    if (lease === undefined) {
      const busy = Math.max(known.requests, known.lastRequests) >= BUSY_REQUESTS;
      const trustedFor = known.repliedAt + DENY_CACHE_MAX_AGE_MS - nowMs;
      return busy && known.redis !== undefined && trustedFor <= this.#ahead(DENY_CACHE_MAX_AGE_MS);
    }
    if (live > 1) return false;
    const margin = this.#ahead(this.#leaseMs);
    const perMs = Math.max(this.#tokensAtRate(known, nowMs), known.lastTokens) / this.#leaseMs;
    return lease.until - nowMs <= margin || lease.left < cost || lease.left <= perMs * margin;
  }

  /** How long before the end of `span` ms something is renewed: two round trips, or its last tenth. */
  #ahead(span: number): number {
    return Math.max(2 * this.#roundTripMs, span * RENEWAL_SHARE);
  }

  /**
   * The terms of the next call for `key`: it settles what this isolate granted of its leases and
   * gives back what is left of the ones that stop granting (the ended ones; every one when it
   * decides, the new lease replacing them), and asks for a new lease on a busy bucket of a tier that
   * leases when it decides requests or renews a lease.
   */
  leaseFor(key: string, tier: NamedTier, nowMs: number, purpose: CallPurpose = "decide"): LeaseTerms {
    const known = this.#entry(key, tier, nowMs);
    // The leases that go on granting; the others stop now, and what is left of them goes back. A
    // spent one that has not ended is dropped too, with nothing to give back.
    const kept: Lease[] = [];
    let held = 0;
    let returned = 0;
    let ended = nowMs;
    let renews = known.exemptUntil > nowMs;
    for (const lease of known.leases) {
      const live = nowMs < lease.until;
      renews ||= live;
      if (purpose !== "decide" && live && lease.left > 0) {
        kept.push(lease);
        held += lease.left;
      } else {
        returned += lease.left;
        ended = Math.min(ended, lease.until);
      }
    }
    // A renewal asks for a lease in place of the one (or the exemption) it renews, spent or not;
    // renewing the reply that certain denials rest on, it only looks.
    const asks = purpose === "decide" || (purpose === "renew" && renews);
    const wanted =
      asks && this.#leases(known, tier) ? Math.max(this.#tokensAtRate(known, nowMs), known.lastTokens) : 0;
    const own = { settled: known.owed - held, returned, ended, seen: known.replies };
    known.leases = kept;
    known.owed = held;
    known.returning += returned;
    const { lost } = known;
    known.lost = undefined;
    if (lost === undefined) return { ...own, wanted };
    // Its lease lost with its reply has nothing granted yet; what it was to settle is carried again
    // only while its record surely lasts, so that a call which did run is never settled twice. If it
    // ran, the script settles its lease in place of all this call carries: what this call settles
    // of its own stays counted out (until the bucket's leases are past their time) and what it gives
    // back is left to the refill, so nothing comes back twice.
    if (nowMs - lost.at > this.#recordMs) return { ...own, wanted, lost: lost.serial };
    const carried = lost.terms;
    return {
      settled: carried.settled + own.settled,
      returned: carried.returned + own.returned,
      ended: carried.returned > 0 ? Math.min(carried.ended, own.ended) : own.ended,
      wanted,
      lost: lost.serial,
      seen: own.seen,
    };
  }

  /**
   * Whether the call that decides a request on `key` now would be an opening call: one that holds,
   * owes, gives back and asks nothing of a lease (the isolate holds no lease state on the bucket and
   * is not busy on it, or its tier does not lease) and names no lost call. (An exemption it knows of
   * answered the request before it came to Redis.) Such a call changes
   * nothing that another call of this isolate carries, so the bucket's next call may go out while it
   * is out, instead of after it: a burst on an idle bucket then waits one round trip, not two.
   */
  opens(key: string, tier: NamedTier): boolean {
    const known = this.#entries.get(key);
    if (known === undefined) return true;
    const holds = known.leases.length > 0 || known.owed > 0 || known.returning > 0;
    return !holds && known.lost === undefined && !this.#leases(known, tier);
  }

  /** Whether a call on this bucket asks for a lease when it may: a busy bucket, of a tier that leases. */
  #leases(known: Known, tier: NamedTier): boolean {
    const busy = Math.max(known.requests, known.lastRequests) >= BUSY_REQUESTS;
    return busy && this.#leaseMs > 0 && tier.lease !== false;
  }

  /**
   * A call got no reply: it may have run, and leased. The next call names it (`leaseFor`). One that
   * carried nothing of a lease (an opening call) leaves nothing to settle, and does not take the place
   * of a lost call that did.
   */
  lose(key: string, tier: NamedTier, serial: string, terms: LeaseTerms, nowMs: number): void {
    const { settled, returned, wanted, lost } = terms;
    if (settled === 0 && returned === 0 && wanted === 0 && lost === undefined) return;
    const known = this.#entry(key, tier, nowMs);
    known.lost = { serial, terms, at: nowMs };
  }

  /**
   * Learns from a call's reply: Redis's buckets, the lease it took, and what others hold. `sentAt`
   * is the callers' clock when the call was asked (a lease grants for `leaseMs` from then), read no
   * later than the send; `roundTripMs` how long the reply took, which sets when a lease is renewed.
   */
  remember(
    key: string,
    tier: NamedTier,
    outcome: CallOutcome,
    terms: LeaseTerms,
    sentAt: number,
    roundTripMs = this.#roundTripMs,
  ) {
    // Smoothed as TCP smooths its round-trip time (RFC 6298): one reply in eight counts.
    this.#roundTripMs += (roundTripMs - this.#roundTripMs) / (this.#roundTripMs === 0 ? 1 : 8);
    const known = this.#entry(key, tier, sentAt);
    const { state, lease, others } = outcome;
    const left = { ...state, tokens: state.tokens.map((count) => count - lease) };
    const gaveBack = terms.returned > 0;
    // Another call's reply came while this one was out (an opening call and one beside it): Redis
    // may have run either first, and the buckets are taken from the later one. What the isolate gave
    // back is in them once the call that carried it ran, whichever of the two is kept.
    const overlapped = terms.seen !== undefined && terms.seen !== known.replies;
    known.replies += 1;
    if (!overlapped || gaveBack) known.returning = 0;
    if (lease > 0) {
      known.owed += lease;
      known.leases.push({ left: lease, until: sentAt + this.#leaseMs });
      known.leases.sort((a, b) => a.until - b.until);
    }
    const older =
      overlapped && known.redis !== undefined && !ranLater(left, gaveBack, known.redis, known.gaveBack);
    if (older) return;
    known.repliedAt = sentAt;
    known.gaveBack = gaveBack;
    if (state.limits.length === 0) {
      known.redis = undefined;
      known.exemptUntil = terms.wanted > 0 ? sentAt + this.#leaseMs : 0;
      return;
    }
    known.redis = left;
    known.others = others;
    known.exemptUntil = 0;
  }

  /**
   * Drops the oldest hundredth of the bound (one record at least) at once. A walk from the oldest end
   * passes every entry deleted since V8 last rebuilt the table: dropping one record per new bucket, a
   * new bucket's `answer` took 6.5 µs with 10,000 known (Node 22's V8); a hundredth at once, 1.5 µs.
   */
  #dropOldest(): void {
    let dropped = 0;
    for (const key of this.#entries.keys()) {
      this.#entries.delete(key);
      dropped += 1;
      if (dropped >= this.#maxEntries / 100) return;
    }
  }

  /** Puts `known` at the newest end of the order. */
  #moveToNewest(key: string, known: Known): void {
    this.#entries.delete(key);
    this.#entries.set(key, known);
    this.#moves += 1;
    known.movedAt = this.#moves;
  }

  /** Tokens of ended leases on `key` not granted: a give-back is due. */
  unspent(key: string, nowMs: number): number {
    const known = this.#entries.get(key);
    let left = 0;
    for (const lease of known?.leases ?? []) if (nowMs >= lease.until) left += lease.left;
    return left;
  }

  /** Forgets what it knew of `key`, its lease included, e.g. after an operator changed it. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** The tokens asked in a whole lease period at this period's rate so far. */
  #tokensAtRate(known: Known, nowMs: number): number {
    const measuredMs = Math.max(nowMs - known.periodStart, this.#leaseMs * SHORTEST_RATE_WINDOW);
    return Math.ceil((known.tokens * this.#leaseMs) / measuredMs);
  }

  /** Redis's buckets with this isolate's unspent leases, those it is giving back, and `extra` in them. */
  #withLease(known: Known, redis: BucketState, extra: number): BucketState {
    let back = extra + known.returning;
    for (const { left } of known.leases) back += left;
    return back === 0 ? redis : { ...redis, tokens: redis.tokens.map((count) => count + back) };
  }

  /**
   * The record of `key`, made or renewed, most recently used, its demand rolled to `nowMs`.
   *
   * A Map keeps insertion order, so a record is made the most recently used by deleting it and setting
   * it again. But V8 leaves a deleted entry in its hash bucket's chain until the table is rebuilt, so a
   * key moved on every request (a busy bucket) makes each of its lookups walk a chain of its own dead
   * entries, as many as the table has free slots: in Node 22's V8, 13 µs a request with 10,000 buckets
   * known (1.7 µs with 1,000), against 4 ns without the move. So a record is moved only once it has
   * sunk out of the newest quarter of the order: a busy bucket about once per 2,500 moves of others.
   * The order is then least recently used but for that quarter, and a record used in the last 5,000
   * moves (half the bound) is never dropped: unmoved, it has at most 7,500 after it, and only the
   * oldest hundredth of 10,001 goes.
   */
  #entry(key: string, tier: NamedTier, nowMs: number): Known {
    const tierLimits = limitsText(tier.limits);
    let known = this.#entries.get(key);
    if (known === undefined || known.tierLimits !== tierLimits) {
      known = {
        tierLimits,
        repliedAt: 0,
        others: 0,
        leases: [],
        owed: 0,
        returning: 0,
        exemptUntil: 0,
        replies: 0,
        gaveBack: false,
        movedAt: 0,
        periodStart: nowMs,
        requests: 0,
        tokens: 0,
        lastRequests: 0,
        lastTokens: 0,
      };
      this.#moveToNewest(key, known);
      if (this.#entries.size > this.#maxEntries) this.#dropOldest();
    } else if (this.#moves - known.movedAt >= this.#maxEntries / 4) {
      this.#moveToNewest(key, known);
    }
    const period = Math.max(this.#leaseMs, 1);
    if (nowMs - known.periodStart >= period) {
      const adjacent = nowMs - known.periodStart < 2 * period;
      known.lastRequests = adjacent ? known.requests : 0;
      known.lastTokens = adjacent ? known.tokens : 0;
      known.requests = 0;
      known.tokens = 0;
      known.periodStart = nowMs;
    }
    return known;
  }
}

/**
 * Whether to take `state` for the later of two overlapping calls of this isolate on one bucket, the
 * other having left `than`; each flag says whether that call gave tokens back. A later bucket time is
 * a later call (it never goes back). At one time, a call that took only left no more than the one
 * before it; one that also gave back may have left more, so it is taken either way: if it ran first,
 * its state is still a bound on what Redis holds (the other only took from it), never one too low.
 */
function ranLater(state: BucketState, gaveBack: boolean, than: BucketState, thanGaveBack: boolean): boolean {
  if (state.timeMs !== than.timeMs) return state.timeMs > than.timeMs;
  if (gaveBack || thanGaveBack) return gaveBack;
  return (state.tokens[0] ?? 0) < (than.tokens[0] ?? 0);
}

/** Ends, at `nowMs`, the leases that still grant: what is left of them is given back. */
function stopGranting(leases: Lease[], nowMs: number): void {
  for (const lease of leases) lease.until = Math.min(lease.until, nowMs);
}

/**
 * Takes `cost` from the leases that still grant at `nowMs`, the earliest ending first; false, taking
 * nothing, when they hold less.
 */
function grant(leases: Lease[], cost: number, nowMs: number): boolean {
  let held = 0;
  let live = false;
  for (const { left, until } of leases) {
    if (nowMs >= until) continue;
    held += left;
    live = true;
  }
  if (!live || held < cost) return false;
  let owed = cost;
  for (const lease of leases) {
    if (nowMs >= lease.until) continue;
    const taken = Math.min(lease.left, owed);
    lease.left -= taken;
    owed -= taken;
  }
  return true;
}
