-- GET /me with real session tokens (Authorization: Bearer), each thread starting at its own place in the list; with
-- BENCH_AS=cookie, GET /auth/verify with them as the browser's teamgate_session cookie, as nginx's auth_request sends it.
local tokens = {}
local counter = 0
local threads = {}
local as_cookie = os.getenv("BENCH_AS") == "cookie"

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  counter = id * 7919
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  if as_cookie then
    return wrk.format("GET", "/auth/verify", {
      ["Cookie"] = "teamgate_session=" .. token, ["X-Original-URL"] = "http://wiki.example.com/handbook?page=2",
      ["X-Forwarded-For"] = "203.0.113.7" })
  end
  return wrk.format("GET", "/me", { ["Authorization"] = "Bearer " .. token })
end
