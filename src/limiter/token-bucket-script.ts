/**
 * The token buckets of one identifier on one tier, decided atomically inside Redis in one round
 * trip, for one request or for a batch of requests in order.
 *
 * A tier has one bucket or several (a burst and a sustained rate): a request is allowed only if
 * every bucket holds `cost` tokens, and then takes from all; a denial takes from none. They share
 * one refill time, since they are always written together. An operator's override (the hash's
 * `override` field, set through the admin API) replaces the tier's limits for this identifier,
 * or exempts it; a bucket with an override never expires, so the override stays.
 *
 * The caller's clock comes in ARGV (Upstash wants scripts deterministic), and the bucket's time
 * never moves backwards, so a caller whose clock lags can only delay a refill, never grant extra
 * tokens. Only a call that takes tokens writes: a denial or a peek costs Redis two commands
 * (EVALSHA, HGETALL), an admission four (with HSET, PEXPIRE). The TTL (2 x the longest window)
 * is refreshed on every write: an idle bucket is full after one window, so an expired key loses
 * nothing.
 *
 * A call that takes tokens leaves a record of itself in `calls` (newest first, at most 32, pruned
 * once older than `retention` on the bucket's clock). A retry of that call (same call id, same
 * ARGV) finds the record and gets the first answer again, so a call whose reply was lost on the
 * way back is never charged twice, whatever other callers did to the bucket in between.
 *
 * Limits travel as `<capacity>:<window ms>` joined by ','; `exempt` means no limit at all.
 * Reply: { flags, tokens, ts, limits }: `flags` has one character per cost, '1' allowed or '0'
 * denied; `tokens` is each bucket's exact count before the first cost (%.17g, joined by ',', so
 * no bit is lost: Lua numbers are truncated to integers on the way out); `ts` is the buckets'
 * time (ms); `limits` are the limits that applied. The caller derives each request's figures
 * from these (see decision.ts).
 */
export const TOKEN_BUCKET_SCRIPT = `
local key       = KEYS[1]            -- hash: tokens (one bucket) or tokens:<window ms> (several),
                                     --   ts (ms of the last refill), calls, override
local now       = tonumber(ARGV[1])  -- caller's clock, ms since the Unix epoch
local call_id   = ARGV[2]            -- unique per call, the same on its retries ([0-9a-f])
local retention = tonumber(ARGV[3])  -- ms a call's record is kept for its retries
local spec      = ARGV[4]            -- the tier's limits, unless the hash holds an override
local first     = 5                  -- ARGV[5..]: the cost of each request, in order; 0 peeks

local hash = {}
local flat = redis.call('HGETALL', key)
for i = 1, #flat, 2 do hash[flat[i]] = flat[i + 1] end
local calls = hash.calls or ''

local seen = string.find(' ' .. calls, ' ' .. call_id .. '/', 1, true)
if seen then
  local limits, tokens, ts, flags = string.match(calls, '^[^/]+/([^/]+)/([^/]*)/(%d+)/([01]+)', seen)
  return { flags, tokens, tonumber(ts), limits }
end

local override = hash.override
spec = override or spec
if spec == 'exempt' then
  return { string.rep('1', #ARGV - first + 1), '', now, spec }
end

local buckets = {}
for capacity, window in string.gmatch(spec, '(%d+):(%d+)') do
  buckets[#buckets + 1] = { capacity = tonumber(capacity), window = tonumber(window) }
end
local ts = tonumber(hash.ts) or now
local longest = 0
for _, bucket in ipairs(buckets) do
  bucket.field = #buckets == 1 and 'tokens' or ('tokens:' .. bucket.window)
  bucket.tokens = tonumber(hash[bucket.field]) or bucket.capacity
  if now > ts then
    bucket.tokens = math.min(bucket.capacity, bucket.tokens + (now - ts) * bucket.capacity / bucket.window)
  end
  longest = math.max(longest, bucket.window)
end
if now > ts then ts = now end

local before = {}
for i, bucket in ipairs(buckets) do before[i] = string.format('%.17g', bucket.tokens) end
before = table.concat(before, ',')

local flags, taken = {}, 0
for i = first, #ARGV do
  local cost = tonumber(ARGV[i])
  local fits = true
  for _, bucket in ipairs(buckets) do
    if bucket.tokens < cost then fits = false end
  end
  if fits then
    for _, bucket in ipairs(buckets) do bucket.tokens = bucket.tokens - cost end
    taken = taken + cost
  end
  flags[#flags + 1] = fits and '1' or '0'
end
flags = table.concat(flags)

if taken > 0 then
  local kept = { table.concat({ call_id, spec, before, string.format('%d', ts), flags }, '/') }
  for record in string.gmatch(calls, '%S+') do
    if #kept == 32 then break end
    local recorded = tonumber(string.match(record, '^[^/]+/[^/]+/[^/]*/(%d+)/'))
    if recorded and recorded + retention >= ts then kept[#kept + 1] = record end
  end
  local fields = { 'ts', string.format('%d', ts), 'calls', table.concat(kept, ' ') }
  for _, bucket in ipairs(buckets) do
    fields[#fields + 1] = bucket.field
    fields[#fields + 1] = string.format('%.17g', bucket.tokens)
  end
  redis.call('HSET', key, unpack(fields))
  if not override then redis.call('PEXPIRE', key, 2 * longest) end
end
return { flags, before, ts, spec }
`;

/** Where the buckets of one identifier on one tier live: the script's KEYS[1]. */
export const bucketKey = (prefix: string, tierName: string, identifier: string) =>
  `${prefix}:${tierName}:${identifier}`;

/** The reply, in the order the script returns it. */
export type TokenBucketReply = [flags: string, tokensBefore: string, bucketTimeMs: number, limits: string];

/** Most requests one script call decides: bounds ARGV, the reply, and the record a call leaves. */
export const MAX_BATCH = 128;
