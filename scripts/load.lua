-- wrk script for scripts/load.sh: POST /api/v1/commitments, rotating the
-- users' API tokens, with varied contacts, deadlines, directions, stars and
-- meetings. Arguments (after --): TOKENS_FILE REQUESTS_PER_THREAD THREADS
-- DONE_PREFIX. Thread i of THREADS sends with tokens i, i+THREADS, … in
-- turn, stops after REQUESTS_PER_THREAD answers and creates the file
-- DONE_PREFIX.i, so that load.sh can end the run (wrk itself waits for -d);
-- done() prints the answers, those that were not 2xx, and percentiles.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

-- Globals, so that done() can read them from each thread (thread:get).
tokens = {}
limit = 0
sent = 0
answered = 0
non2xx = 0
nthreads = 1
marker = nil

local dues = { "in 3 days", "tomorrow", "in 2 days", "next week", "in 5 days", "in 4 days", "" }
local places = { "SaaStr, booth 12", "Web Summit, hall B", "meetup at the library", "coffee line at KubeCon", "the Tuesday founders' dinner" }
local promises = {
  "Send the pricing deck", "Introduce them to Carol", "Share the article on pricing pages",
  "Send the case study", "Book a coffee next week", "Forward the job description",
}
local zones = { "-05:00", "+01:00", "+00:00", "+09:00" }

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if line ~= "" then table.insert(tokens, line) end
  end
  f:close()
  limit = tonumber(args[2])
  nthreads = tonumber(args[3])
  marker = args[4] .. "." .. id
  -- Each thread starts at its own token, so that threads spread over users.
  sent = id - 1
  math.randomseed(id * 7919)
end

local function body(n)
  local i = math.random(1000000)
  local parts = {
    string.format('"contact":{"name":"Contact %d-%d","email":"c%d.%d@example.com","company":"Company %d"}', id, n, id, n, i % 37),
    string.format('"promise":"%s","met_where":"%s"', promises[i % #promises + 1], places[i % #places + 1]),
    string.format('"notes":"possible client; met %d"', i),
  }
  local due = dues[i % #dues + 1]
  if due ~= "" then table.insert(parts, string.format('"due_text":"%s"', due)) end
  if i % 4 == 0 then table.insert(parts, '"direction":"theirs"') end
  if i % 5 == 0 then table.insert(parts, '"priority":true') end
  if i % 10 == 3 then
    -- A meeting agreed for 2 to 8 days ahead, at 10:00 or 15:00 in some zone.
    local day = os.date("!%Y-%m-%d", os.time() + (2 + i % 7) * 86400)
    local hour = (i % 2 == 0) and "10" or "15"
    table.insert(parts, string.format('"meeting":{"start":"%sT%s:00:00%s","minutes":30,"location":"Blue Bottle"}', day, hour, zones[i % #zones + 1]))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function request()
  local token = tokens[sent % #tokens + 1]
  sent = sent + nthreads
  return wrk.format("POST", "/api/v1/commitments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body(sent))
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("load.lua: ", status, " ", body, "\n") end
  end
  if answered == limit then
    local f = io.open(marker, "w")
    if f then f:close() end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad, total = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    total = total + t:get("answered")
  end
  io.write(string.format("answers: %d, not 2xx: %d\n", total, bad))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
