import { ROUNDING } from "./decision.ts";

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
 * Tokens are read as `min(capacity, stored + refill)` on every call, whatever the clocks say, so a
 * bucket written under higher limits (an older config.yaml, an isolate not yet redeployed) is held
 * to the capacity that applies now.
 *
 * Counts are doubles, and a refill's sum lands a few units in the last place either side of the
 * exact count: drained, then a token taken at +603 ms, a bucket of 100 per 60 s holds
 * 0.9999999999999999 tokens at +1200 ms, where exactly one is there. So a bucket holds `cost` when its
 * count falls short of it by at most `ROUNDING` per token of capacity (a token reached a billionth
 * of the window early: 60 ns for a window of 60 s), and what it keeps is never below 0. Otherwise
 * the request at the very moment a token comes back would be denied, and a busy isolate, which sends
 * it then (known-buckets.ts), would keep every request that came meanwhile waiting a second round trip.
 *
 * The caller's clock comes in ARGV (Upstash wants scripts deterministic), and the bucket's time
 * never moves backwards, so a caller whose clock lags can only delay a refill, never grant extra
 * tokens.
 *
 * Leases: a caller busy on a bucket may take up to `wanted` more tokens after its requests, at most
 * half of what every bucket holds then, to grant locally (known-buckets.ts); its next call settles
 * that lease and gives back what it did not grant (`returned`). `out` counts the tokens out on
 * leases not yet settled, so a caller can bound what others may still give back; a give-back never
 * adds more than `out`, and `out` is dropped once every lease it counts is past `out_until` (a lease
 * whose holder died is then left to the refill).
 *
 * A call that writes leaves its outcome, `<serial>/<flags>/<lease>`, where a retry of it (same
 * caller, serial and ARGV) finds it and gets the first outcome again with the buckets as they are
 * now, so a call whose reply was lost is never charged twice, whatever other callers did meanwhile.
 * One caller's calls on a bucket go one at a time, retries included (batches.ts), so its newest
 * record can sit in the hash, in a field of its own (`c:<caller>`, with the one before it while
 * fresh, for an attempt that arrives late) that only its own next call rewrites: no extra command.
 * Where a record would not fit in that field (64 bytes, Redis's limit for a compact hash), or more
 * than MAX_CALLERS other callers hold fresh fields, it goes instead to KEYS[2], a key of its own that
 * Redis expires after `retention` ms. A first attempt cannot have a record, so it does not look.
 *
 * A call that gets no reply may still have run, and leased: the caller's next call on the bucket
 * names it (`lost`, KEYS[3]), and its lease comes back, or, if it never ran, what it was to settle
 * is settled then.
 *
 * Redis commands: a denial or a peek, EVALSHA and HGETALL (a retry, or a call after a lost one, whose
 * record is not in the hash adds GET); a call that takes or gives back tokens adds HSET, PEXPIRE once a
 * longest window per bucket (never under an override), SET only when its record goes to KEYS[2], and
 * HDEL when the hash holds fields of an older layout or more than MAX_CALLERS callers' fields. Upstash
 * runs a script flagged `allow-key-locking` under the locks of KEYS only, so it touches no other key.
 *
 * Limits travel as `<capacity>:<window ms>` joined by ','; `exempt` means no limit at all.
 * Reply: { flags, tokens, ts, limits, lease, others, replayed }: `flags` has one character per cost,
 * '1' allowed or '0' denied; `tokens` is each bucket's exact count (%.17g, joined by ',', so no bit
 * is lost: Lua numbers are truncated to integers on the way out) before the first cost, or, for a
 * replayed call, now; `ts` is the buckets' time (ms); `limits` are the limits that applied; `lease`
 * the tokens leased to this call; `others` the tokens out on lease to other calls; `replayed` 1 when
 * the call had already run. The caller derives each request's figures from these (script-reply.ts).
 */
const SCRIPT_BODY = `
local key       = KEYS[1]            -- hash: tokens (one bucket) or tokens:<window ms> (several),
                                     --   ts (ms of the last refill), out, out_until, override,
                                     --   expires (bucket time by which Redis expires the key),
                                     --   c:<caller> ('<ts> <serial>/<flags>/<lease>[ <older one>]')
local record    = KEYS[2]            -- string: this call's outcome, '<flags>/<lease>', when not in the hash
local lostrec   = KEYS[3]            -- string: the record of this caller's lost call, if it has one
local now       = tonumber(ARGV[1])  -- caller's clock, ms since the Unix epoch
local retry     = ARGV[2] == '1'     -- '1' when an earlier attempt of this call may have run
local retention = tonumber(ARGV[3])  -- ms the record is kept
local spec      = ARGV[4]            -- the tier's limits, unless the hash holds an override
local settled   = tonumber(ARGV[5])  -- tokens of this caller's last lease, now settled: no longer out
local returned  = tonumber(ARGV[6])  -- of those, the tokens it did not grant, given back
local ended     = tonumber(ARGV[7])  -- caller's clock (ms) when that lease stopped granting
local wanted    = tonumber(ARGV[8])  -- tokens this caller would lease after its requests
local horizon   = tonumber(ARGV[9])  -- ms after a lease by which its holder has settled it
local caller    = ARGV[10]           -- the calling isolate's limiter ([0-9a-f]): one call at a time
local serial    = ARGV[11]           -- this call's number among that caller's calls ([0-9a-f])
local lost      = ARGV[12]           -- its last call on this bucket, which got no reply; '' if none
local first     = 13                 -- ARGV[13..]: the cost of each request, in order; 0 peeks
local MAX_CALLERS = 6                -- callers' record fields a hash keeps, so it stays under 1 KB
local ROUNDING  = ${ROUNDING}               -- tokens per token of capacity a count may miss its cost by
local field     = 'c:' .. caller

local hash = {}
local flat = redis.call('HGETALL', key)
for i = 1, #flat, 2 do hash[flat[i]] = flat[i + 1] end

spec = hash.override or spec
if spec == 'exempt' then
  return { string.rep('1', #ARGV - first + 1), '', now, spec, 0, 0, 0 }
end

local buckets, longest = {}, 0
for capacity, window in string.gmatch(spec, '(%d+):(%d+)') do
  buckets[#buckets + 1] = { capacity = tonumber(capacity), window = tonumber(window) }
  longest = math.max(longest, tonumber(window))
end
local ts = tonumber(hash.ts) or now
local elapsed = math.max(0, now - ts)
local known = { ts = true, out = true, out_until = true, override = true, expires = true }
for _, bucket in ipairs(buckets) do
  bucket.field = #buckets == 1 and 'tokens' or ('tokens:' .. bucket.window)
  known[bucket.field] = true
  local stored = tonumber(hash[bucket.field]) or bucket.capacity
  bucket.tokens = math.min(bucket.capacity, math.max(0, stored + elapsed * bucket.capacity / bucket.window))
end
ts = math.max(ts, now)
local out = tonumber(hash.out) or 0
local out_until = tonumber(hash.out_until) or 0
if now > out_until then out = 0 end

local function counts()
  local texts = {}
  for i, bucket in ipairs(buckets) do texts[i] = string.format('%.17g', bucket.tokens) end
  return table.concat(texts, ',')
end

local done
if retry then
  done = string.match(' ' .. (hash[field] or ''), ' ' .. serial .. '/([01]*/%d+)')
  done = done or redis.call('GET', record)
end
if done then
  local flags, lease = string.match(done, '^([01]*)/(%d+)$')
  lease = tonumber(lease)
  for _, bucket in ipairs(buckets) do bucket.tokens = bucket.tokens + lease end
  return { flags, counts(), ts, spec, lease, math.max(0, out - lease), 1 }
end

-- The caller's last call got no reply. If it ran, it settled what this call carries again, and the
-- lease it took was never granted: all of it comes back (less the refill since it was taken). If it
-- never ran, this call settles in its place.
if lost ~= '' then
  local mine = hash[field] or ''
  local leased = string.match(' ' .. mine, ' ' .. lost .. '/[01]*/(%d+)')
  local at = tonumber(string.match(mine, '^(%d+)'))
  if not leased then
    leased = string.match(redis.call('GET', lostrec) or '', '^[01]*/(%d+)$')
    at = 0
  end
  if leased then
    settled, returned, ended = tonumber(leased), tonumber(leased), at
  end
end

settled = math.min(settled, out)
returned = math.min(returned, settled)
out = out - settled
-- Tokens given back late come back less the refill the bucket got since the lease ended, as if
-- they had come back then: a late give-back never lets more through than a timely one.
local late = math.max(0, now - ended)
for _, bucket in ipairs(buckets) do
  local back = math.max(0, returned - late * bucket.capacity / bucket.window)
  bucket.tokens = math.min(bucket.capacity, bucket.tokens + back)
end
local before = counts()

local flags, taken = {}, 0
for i = first, #ARGV do
  local cost = tonumber(ARGV[i])
  local fits = true
  for _, bucket in ipairs(buckets) do
    if bucket.tokens + ROUNDING * bucket.capacity < cost then fits = false end
  end
  if fits then
    for _, bucket in ipairs(buckets) do bucket.tokens = math.max(0, bucket.tokens - cost) end
    taken = taken + cost
  end
  flags[#flags + 1] = fits and '1' or '0'
end
flags = table.concat(flags)

local lease = wanted
for _, bucket in ipairs(buckets) do lease = math.min(lease, math.floor(bucket.tokens / 2)) end
local others = out
if lease > 0 then
  for _, bucket in ipairs(buckets) do bucket.tokens = bucket.tokens - lease end
  out = out + lease
  out_until = math.max(out_until, now + horizon)
end

if taken > 0 or lease > 0 or settled > 0 then
  local stamp = string.format('%d', ts)
  local fields = { 'ts', stamp, 'out', string.format('%d', out), 'out_until', string.format('%d', out_until) }
  for _, bucket in ipairs(buckets) do
    fields[#fields + 1] = bucket.field
    fields[#fields + 1] = string.format('%.17g', bucket.tokens)
  end
  local entry = serial .. '/' .. flags .. '/' .. string.format('%d', lease)
  local mine = stamp .. ' ' .. entry
  local was, older = string.match(hash[field] or '', '^(%d+) ([^ ]+)')
  if was and tonumber(was) + retention >= now and #mine + 1 + #older <= 64 then mine = mine .. ' ' .. older end
  local fresh, stale, callers = 0, {}, 0
  for name, text in pairs(hash) do
    if string.sub(name, 1, 2) == 'c:' then
      callers = callers + 1
      local at = tonumber(string.match(text, '^(%d+)'))
      if name ~= field and at and at + retention >= now then fresh = fresh + 1
      elseif name ~= field then stale[#stale + 1] = name end
    elseif not known[name] then
      stale[#stale + 1] = name
    end
  end
  if #mine <= 64 and (hash[field] or fresh < MAX_CALLERS) then
    fields[#fields + 1] = field
    fields[#fields + 1] = mine
  else
    redis.call('SET', record, flags .. '/' .. string.format('%d', lease), 'PX', retention)
  end
  -- The key outlives its last write by two to three longest windows (by then its buckets are full
  -- again and its records past their time), so PEXPIRE goes out once a window, not on every write.
  -- An expiry set on a clock ahead of this caller's, or under a shorter longest window (an older
  -- config.yaml), is set again now.
  local expires = tonumber(hash.expires)
  local renew = not hash.override
    and not (expires and expires >= ts + 2 * longest and expires <= now + 3 * longest)
  if renew then
    fields[#fields + 1] = 'expires'
    fields[#fields + 1] = string.format('%d', ts + 3 * longest)
  end
  redis.call('HSET', key, unpack(fields))
  -- Callers' fields past their time go once there are too many; fields of an older layout at once.
  local drop = {}
  for _, name in ipairs(stale) do
    if string.sub(name, 1, 2) ~= 'c:' or callers > MAX_CALLERS then drop[#drop + 1] = name end
  end
  if #drop > 0 then redis.call('HDEL', key, unpack(drop)) end
  if renew then redis.call('PEXPIRE', key, 3 * longest) end
end
return { flags, before, ts, spec, lease, others, 0 }
`;

/**
 * The script as sent, flagged so that Upstash locks only its keys, not the whole database, while it
 * runs. Stock Redis 7 and SRH refuse the flag; the endpoint falls back to `TOKEN_BUCKET_SCRIPT_UNFLAGGED`
 * there (redis-endpoint.ts).
 */
export const TOKEN_BUCKET_SCRIPT = `#!lua flags=allow-key-locking\n${SCRIPT_BODY}`;

/** The same script without the shebang, for an endpoint that refuses the flag. */
export const TOKEN_BUCKET_SCRIPT_UNFLAGGED = SCRIPT_BODY;

/** Where the buckets of one identifier on one tier live: the script's KEYS[1]. */
export const bucketKey = (prefix: string, tierName: string, identifier: string) =>
  `${prefix}:${tierName}:${identifier}`;

/** A script's SHA-1, in hex: the name EVALSHA calls it by. */
export async function scriptSha(source: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(source));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Where one call leaves its outcome for its retries: the script's KEYS[2]. A `/` after the prefix,
 * where bucket keys have a `:`, so no identifier can name it.
 */
export const recordKey = (prefix: string, callId: string) => `${prefix}/call/${callId}`;

/** The reply, in the order the script returns it. */
export type TokenBucketReply = [
  flags: string,
  tokens: string,
  bucketTimeMs: number,
  limits: string,
  lease: number,
  others: number,
  replayed: 0 | 1,
];

/** Most requests one script call decides: bounds ARGV, the reply, and the record a call leaves. */
export const MAX_BATCH = 128;
