/**
 * The token bucket, decided atomically inside Redis in one round trip, for one request or for a
 * batch of requests on the same bucket, in order.
 *
 * The caller's clock comes in ARGV (Upstash wants scripts deterministic), and the bucket's time
 * never moves backwards, so a caller whose clock lags can only delay a refill, never grant extra
 * tokens. A denial takes nothing, and only a call that takes tokens writes: a denial or a peek
 * costs Redis two commands (EVALSHA, HMGET), an admission four (with HSET, PEXPIRE). The TTL
 * (2 x window) is refreshed on every write: an idle bucket is full after one window, so an
 * expired key loses nothing.
 *
 * A call that takes tokens leaves a record of itself in `calls` (newest first, at most 32, pruned
 * once older than `retention` on the bucket's clock). A retry of that call (same call id, same
 * ARGV) finds the record and gets the first answer again, so a call whose reply was lost on the
 * way back is never charged twice, whatever other callers did to the bucket in between.
 *
 * Reply: { flags, tokens, ts }: `flags` has one character per cost, '1' allowed or '0' denied;
 * `tokens` is the exact count before the first cost (text, %.17g, so no bit is lost); `ts` is the
 * bucket's time (ms). The caller derives each request's figures from these (see decision.ts):
 * Lua numbers are truncated to integers on the way out, so fractions travel as text.
 */
export const TOKEN_BUCKET_SCRIPT = `
local key       = KEYS[1]            -- hash: tokens (fractional), ts (ms of the last refill), calls
local capacity  = tonumber(ARGV[1])  -- tokens in a full bucket
local window    = tonumber(ARGV[2])  -- ms to refill from empty to full
local now       = tonumber(ARGV[3])  -- caller's clock, ms since the Unix epoch
local call_id   = ARGV[4]            -- unique per call, the same on its retries ([0-9a-f])
local retention = tonumber(ARGV[5])  -- ms a call's record is kept for its retries
local first     = 6                  -- ARGV[6..]: the cost of each request, in order; 0 peeks

local state = redis.call('HMGET', key, 'tokens', 'ts', 'calls')
local calls = state[3] or ''

local seen = string.find(' ' .. calls, ' ' .. call_id .. '/', 1, true)
if seen then
  local tokens, ts, flags = string.match(calls, '^[^/]+/([^/]+)/(%d+)/([01]+)', seen)
  return { flags, tokens, tonumber(ts) }
end

local tokens = tonumber(state[1]) or capacity
local ts     = tonumber(state[2]) or now
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * capacity / window)
  ts = now
end

local before = string.format('%.17g', tokens)
local flags, taken = {}, 0
for i = first, #ARGV do
  local cost = tonumber(ARGV[i])
  if tokens >= cost then
    tokens = tokens - cost
    taken = taken + cost
    flags[#flags + 1] = '1'
  else
    flags[#flags + 1] = '0'
  end
end
flags = table.concat(flags)

if taken > 0 then
  local kept = { call_id .. '/' .. before .. '/' .. string.format('%d', ts) .. '/' .. flags }
  for record in string.gmatch(calls, '%S+') do
    if #kept == 32 then break end
    local recorded = tonumber(string.match(record, '^[^/]+/[^/]+/(%d+)/'))
    if recorded and recorded + retention >= ts then kept[#kept + 1] = record end
  end
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'ts', string.format('%d', ts),
    'calls', table.concat(kept, ' '))
  redis.call('PEXPIRE', key, 2 * window)
end
return { flags, before, ts }
`;

/** The reply, in the order the script returns it. */
export type TokenBucketReply = [flags: string, tokensBefore: string, bucketTimeMs: number];

/** Most requests one script call decides: bounds ARGV, the reply, and the record a call leaves. */
export const MAX_BATCH = 128;
