-- GET /oidc/userinfo with real access tokens, each thread starting at its own place in the list.
local tokens = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_ACCESS")) do tokens[#tokens + 1] = line end
  counter = id * 7919
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/oidc/userinfo", { ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1] })
end
