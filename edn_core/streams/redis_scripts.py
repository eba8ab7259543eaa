"""The server-side scripts of the Redis adapter: appending an entry with an id (``APPEND``)
and committing a partition's offset (``COMMIT``).

An entry with an id is added only if the id's key (``<prefix>{<stream>}:id:<id>``, in the
stream's slot) does not exist; the key is then set to the entry's position and expires after
the dedup window. Both in one script: a crash cannot leave the key without the entry (which
would lose it) nor the entry without the key (which would let it be added twice).

A commit must, as one step, refuse to go backwards, acknowledge every pending entry up to the
offset (whoever holds it), move the group's last-delivered id up to the offset if it was
behind (entries committed without being delivered are never delivered), and record the offset.
It also forgets the group's consumers that hold nothing (a consumer is a name the caller picks,
often one per process: without this, every restart would leave one behind for good).
Done from the client, a concurrent commit could interleave and lower the offset; a script runs
alone. Ids are compared by their two numbers (Lua numbers are doubles: a whole offset would
lose precision, a millisecond count or a sequence number does not).
"""

from __future__ import annotations

__all__ = ["APPEND", "COMMIT"]

# KEYS[1]: the partition's stream; KEYS[2]: the id's key. ARGV[1]: the dedup window in
# milliseconds; ARGV[2]: the partition; ARGV[3...]: the entry's fields. Returns
# "<partition>:<Redis id>" of the entry holding the id (this one if it was added).
APPEND = """
local held = redis.call('GET', KEYS[2])
if held then return held end
local added = ARGV[2] .. ':' .. redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], added, 'PX', ARGV[1])
return added
"""

# KEYS[1]: the partition's stream; KEYS[2]: the stream's hash of committed ids.
# ARGV[1]: the group; ARGV[2]: its field in the hash; ARGV[3]: the id to commit.
COMMIT = """
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function before(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local group, target = ARGV[1], ARGV[3]
local current = redis.call('HGET', KEYS[2], ARGV[2])
if current and not before(current, target) then return 0 end
while true do
  local pending = redis.call('XPENDING', KEYS[1], group, '-', target, 500)
  if #pending == 0 then break end
  local ids = {}
  for i, item in ipairs(pending) do ids[i] = item[1] end
  redis.call('XACK', KEYS[1], group, unpack(ids))
end
for _, fields in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #fields, 2 do info[fields[i]] = fields[i + 1] end
  if info['name'] == group and before(info['last-delivered-id'], target) then
    redis.call('XGROUP', 'SETID', KEYS[1], group, target)
  end
end
for _, fields in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], group)) do
  local info = {}
  for i = 1, #fields, 2 do info[fields[i]] = fields[i + 1] end
  if info['pending'] == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, info['name']) end
end
redis.call('HSET', KEYS[2], ARGV[2], target)
return 1
"""
