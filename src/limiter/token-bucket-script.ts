/**
 * The token bucket, decided atomically inside Redis in one round trip.
 *
 * The caller's clock comes in ARGV (Upstash wants scripts deterministic), and the bucket's
 * time never moves backwards, so a caller whose clock lags can only delay a refill, never
 * grant extra tokens. A denial takes nothing. The TTL (2 x window) is refreshed on every
 * write: an idle bucket is full after one window, so an expired key loses nothing.
 *
 * Reply: { allowed (1|0), whole tokens left, bucket time (ms), ms from bucket time until full,
 *          ms from bucket time until `cost` tokens are there (0 when allowed) }
 * Lua numbers are truncated to integers on the way out, hence the explicit floor/ceil.
 */
export const TOKEN_BUCKET_SCRIPT = `
local key      = KEYS[1]            -- hash: tokens (fractional), ts (ms of the last refill)
local capacity = tonumber(ARGV[1])  -- tokens in a full bucket
local window   = tonumber(ARGV[2])  -- ms to refill from empty to full
local now      = tonumber(ARGV[3])  -- caller's clock, ms since the Unix epoch
local cost     = tonumber(ARGV[4])  -- tokens this request takes; 0 peeks

local state  = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts     = tonumber(state[2]) or now

if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * capacity / window)
  ts = now
end

local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end

redis.call('HSET', key, 'tokens', tokens, 'ts', ts)
redis.call('PEXPIRE', key, 2 * window)

local ms_per_token = window / capacity
local wait = 0
if allowed == 0 then
  wait = math.ceil((cost - tokens) * ms_per_token)
end
return { allowed, math.floor(tokens), ts, math.ceil((capacity - tokens) * ms_per_token), wait }
`;

/** The reply tuple, in the order the script returns it. */
export type TokenBucketReply = [
  allowed: number,
  tokensLeft: number,
  bucketTimeMs: number,
  msUntilFull: number,
  msUntilCost: number,
];
