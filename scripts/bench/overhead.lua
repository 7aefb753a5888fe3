-- wrk script for scripts/bench_overhead: wrk's own request (the URL and the -H headers);
-- done() prints: requests/s, p50 ms, p99 ms, bytes per response, errors, requests
function done(summary, latency, requests)
  local failed = 0
  for _, count in pairs(summary.errors) do failed = failed + count end
  io.write(string.format("%.0f %.2f %.2f %.0f %d %d\n",
    summary.requests / summary.duration * 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.bytes / math.max(summary.requests, 1), failed, summary.requests))
end
