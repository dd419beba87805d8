-- wrk: public POST /password-reset/request for a different unknown address every time, so the
-- per-email cap (3 live slots per address) never answers 429 and every call takes the full path:
-- user lookup, slot claim, rate window. No callback_url: the local API's default one is used.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local n = 0
function request()
  n = n + 1
  local body = string.format(
    '{"email":"load-%d-%d@example.com"}',
    tid, n)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
