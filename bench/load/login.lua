-- wrk script: POST /api/login with the benchmark user's credentials.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":"bench_user","password":"bench password 1"}'
