-- GET /me with made-up session tokens, a new one each request: what a credential-stuffing flood sends.
local counter = 0

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  counter = counter + 1
  local token = string.format("tgs_%08x%08x%08x%08x%d", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
    math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), counter)
  return wrk.format("GET", "/me", { ["Authorization"] = "Bearer " .. token })
end
