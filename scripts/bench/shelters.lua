-- wrk script: the shelter finder around random points near Anhui's 16 city centres
-- (WGS 84), up to about 4 km from a centre, the nearest 50 within 3 km.
local centres = {
  {117.2272, 31.8206}, {118.4331, 31.3525}, {117.3893, 32.9162}, {117.0183, 32.6475},
  {118.5070, 31.6700}, {116.7983, 33.9550}, {117.8121, 30.9454}, {117.0636, 30.5430},
  {118.3375, 29.7147}, {118.3172, 32.3016}, {115.8146, 32.8897}, {116.9641, 33.6462},
  {116.5199, 31.7355}, {115.7790, 33.8443}, {117.4912, 30.6648}, {118.7590, 30.9404},
}

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local c = centres[math.random(#centres)]
  local lon = c[1] + (math.random() - 0.5) * 0.08
  local lat = c[2] + (math.random() - 0.5) * 0.08
  return wrk.format("GET", string.format(
    "/v1/shelters/nearby?lon=%.6f&lat=%.6f&radius=3000&limit=50", lon, lat))
end
