-- POST /oidc/introspect (client_secret_basic) over real access tokens, each thread starting at its own place.
local tokens = {}
local counter = 0
local threads = {}
local basic

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_ACCESS")) do tokens[#tokens + 1] = line end
  basic = "Basic " .. os.getenv("BENCH_BASIC")
  counter = id * 7919
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/oidc/introspect",
    { ["Authorization"] = basic, ["Content-Type"] = "application/x-www-form-urlencoded" },
    "token=" .. tokens[(counter % #tokens) + 1])
end
