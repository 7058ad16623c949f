-- POST /team-member/logout for distinct members: thread k takes numbers k, k+T, k+2T, ... so no
-- member is logged out twice and every 201 really ends sessions.
local numbers = {}
local index = 0
local step = 1
local threads = {}
local key = os.getenv("BENCH_KEY")

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_NUMBERS")) do numbers[#numbers + 1] = line end
  step = tonumber(os.getenv("BENCH_THREADS"))
  index = id + 1
end

function request()
  local number = numbers[index]
  index = index + step
  if number == nil then number = numbers[1] end
  return wrk.format("POST", "/team-member/logout",
    { ["x-public-key"] = key, ["content-type"] = "application/json" },
    '{"userPhoneNumber":"' .. number .. '"}')
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
