-- GET /scim/v2/Users?filter=userName eq "…" for the users scripts/bench.d/scim.py provisioned (BENCH_SCIM_USERS of
-- them), as Okta and Entra ID look a user up before every change; the provisioning token in BENCH_SCIM_TOKEN.
local users = tonumber(os.getenv("BENCH_SCIM_USERS"))
local token = os.getenv("BENCH_SCIM_TOKEN")
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 7919
end

function request()
  counter = counter + 1
  local path = "/scim/v2/Users?filter=userName%20eq%20%22BENCH-" .. (counter % users) .. "%40acme.example%22"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
