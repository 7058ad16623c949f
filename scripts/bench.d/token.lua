-- POST /oidc/token: the code exchange, each fresh code once (threads take interleaved codes, none shared). A run
-- longer than the codes last gets invalid_grant for the reused ones, which the bench reports as non-2xx.
local codes = {}
local counter = 0
local threads = {}
local basic
local verifier = "bench-verifier-0123456789-0123456789-0123456789"

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_CODES")) do codes[#codes + 1] = line end
  basic = "Basic " .. os.getenv("BENCH_BASIC")
  counter = id
end

function request()
  local code = codes[(counter % #codes) + 1]
  counter = counter + tonumber(os.getenv("BENCH_THREADS"))
  return wrk.format("POST", "/oidc/token",
    { ["Authorization"] = basic, ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=authorization_code&code=" .. code .. "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fbench-callback&code_verifier=" .. verifier)
end
