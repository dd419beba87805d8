-- wrk: POST /password-reset/check with a well-formed code that was never issued.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"code":"Xq3vJ9kLm2Pz8RtY5wBn0cHs7dEa4FgU1iKo6jQlVxM"}'
