-- wrk script for bench/run: request headers from the environment and a
-- machine-readable summary line.
--   BENCH_ACCEPT   Accept header (default text/html)
--   BENCH_NOETAG   "1" asks the bench upstream to send no ETag (uncached case)
wrk.headers["Accept"] = os.getenv("BENCH_ACCEPT") or "text/html"
if os.getenv("BENCH_NOETAG") == "1" then
  wrk.headers["X-Bench-No-ETag"] = "1"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
