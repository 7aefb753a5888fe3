-- wrk script for scripts/bench_ogc, around Anhui's 16 city centres (WGS 84):
--   wrk -tTHREADS ... -s scripts/bench/ogc.lua URL -- MODE COLLECTION_PATH THREADS [QUERY]
-- QUERY is added to every URL (tipg: geom-column=location).
-- MODE: items   a bbox of about 2 km (random, within 4 km of a centre), limit=50
--       cold    z14 tiles within 0.3 degrees of a centre, each requested once (a shuffled
--               enumeration, split between wrk's threads)
--       hot     the same first 256 of them, at random: cache hits once each was read
--       z10     z10 tiles within 0.3 degrees of a centre, at random
-- done() prints: requests/s, p50 ms, p99 ms, bytes per response, non-2xx answers
local centres = {
  {117.2272, 31.8206}, {118.4331, 31.3525}, {117.3893, 32.9162}, {117.0183, 32.6475},
  {118.5070, 31.6700}, {116.7983, 33.9550}, {117.8121, 30.9454}, {117.0636, 30.5430},
  {118.3375, 29.7147}, {118.3172, 32.3016}, {115.8146, 32.8897}, {116.9641, 33.6462},
  {116.5199, 31.7355}, {115.7790, 33.8443}, {117.4912, 30.6648}, {118.7590, 30.9404},
}

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local function tile(lon, lat, z)
  local n = 2 ^ z
  local phi = math.rad(lat)
  local x = math.floor((lon + 180) / 360 * n)
  local y = math.floor((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * n)
  return x, y
end

-- Every tile of zoom z within `reach` degrees of a centre, once.
local function tiles_around(z, reach)
  local seen, list = {}, {}
  for _, c in ipairs(centres) do
    local x0, y0 = tile(c[1] - reach, c[2] + reach, z)
    local x1, y1 = tile(c[1] + reach, c[2] - reach, z)
    for x = x0, x1 do
      for y = y0, y1 do
        local key = x .. "/" .. y
        if not seen[key] then
          seen[key] = true
          table.insert(list, key)
        end
      end
    end
  end
  return list
end

local function shuffled(list)
  math.randomseed(42) -- the same order in every thread
  for i = #list, 2, -1 do
    local j = math.random(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

function init(args)
  mode, path, stride, extra = args[1], args[2], tonumber(args[3]), args[4]
  if mode == "cold" or mode == "hot" then
    list = shuffled(tiles_around(14, 0.3))
  elseif mode == "z10" then
    list = tiles_around(10, 0.3)
  end
  math.randomseed(os.time() + id * 7919 + math.floor(os.clock() * 1000000))
  next_index = id + 1
end

function request()
  if mode == "items" then
    local c = centres[math.random(#centres)]
    local lon = c[1] + (math.random() - 0.5) * 0.08
    local lat = c[2] + (math.random() - 0.5) * 0.08
    -- 2 km: 0.0212 degrees of longitude and 0.018 of latitude at 32 degrees north
    return wrk.format("GET", string.format("%s/items?bbox=%.6f,%.6f,%.6f,%.6f&limit=50%s",
      path, lon - 0.0106, lat - 0.009, lon + 0.0106, lat + 0.009, extra and "&" .. extra or ""))
  end
  local key
  if mode == "cold" then
    key = list[(next_index - 1) % #list + 1]
    next_index = next_index + stride
  elseif mode == "hot" then
    key = list[math.random(math.min(256, #list))]
  else
    key = list[math.random(#list)]
  end
  local zoom = mode == "z10" and 10 or 14
  return wrk.format("GET", string.format("%s/tiles/WebMercatorQuad/%d/%s%s", path, zoom, key,
    extra and "?" .. extra or ""))
end

function done(summary, latency, requests)
  local failed = 0
  for _, count in pairs(summary.errors) do failed = failed + count end
  io.write(string.format("%.0f %.1f %.1f %.0f %d\n",
    summary.requests / summary.duration * 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.bytes / math.max(summary.requests, 1), failed))
end
