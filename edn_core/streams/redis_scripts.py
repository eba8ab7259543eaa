"""The one server-side script of the Redis adapter: committing a partition's offset.

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

__all__ = ["COMMIT"]

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
