//! The README's walk-through through `sam local start-api`: request, the mail on moto, check,
//! a weak password, consume, the hash on the users item, the spent code, then the IP limit.

use super::*;

/// `sam local start-api` on 127.0.0.1 and a free port; stopped (SIGINT, so it removes its
/// containers) on drop.
struct StartApi {
    child: Child,
    port: u16,
}

impl StartApi {
    fn start(local: &Local) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = local
            .sam(
                "start-api",
                &[
                    "--host".as_ref(),
                    "127.0.0.1".as_ref(),
                    "--port".as_ref(),
                    port.to_string().as_ref(),
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sam local start-api");
        // Forward its log to ours (shown on failure), and wait until it listens.
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("start-api: {line}");
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("sam local start-api exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "start-api is not listening after 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self { child, port }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Vec<(String, String)>, Value) {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let body = body.to_string();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body = serde_json::from_str(body).unwrap_or(Value::Null);
        (status, headers, body)
    }
}

impl Drop for StartApi {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[ignore = "needs Docker, the local base image and `sam build`: scripts/test.d/50-sam-local"]
async fn the_readme_walk_through_passes_through_sam_local_start_api() {
    let _one = ONE_AT_A_TIME.lock().await;
    let local = Local::start("sam-api").await;
    let email = format!("{}@example.com", moto::unique_prefix("demo"));
    local
        .dynamo
        .store
        .put_user(&NewUser {
            id: "demo-user",
            email: &email,
            password_hash: None,
            enabled: None,
        })
        .await
        .expect("seed the user");
    let api = StartApi::start(&local);

    // 1. Ask for a reset.
    let (status, _, body) = api
        .post("/password-reset/request", &json!({ "email": email }))
        .await;
    assert_eq!(
        (status, &body["ok"]),
        (200, &json!(true)),
        "request: {body}"
    );

    // 2. The mail, read back from moto's SES.
    let mails = moto::mail_to(&email).await;
    assert_eq!(mails.len(), 1, "one mail to {email}");
    let code = integration_tests::app::code_in(&mails[0].link())
        .expose()
        .to_owned();
    assert_eq!(code.len(), 43, "the code in the link");

    // 3. Check: valid, not spent.
    let (status, _, body) = api
        .post("/password-reset/check", &json!({ "code": code }))
        .await;
    assert_eq!(
        (status, &body["is_valid"]),
        (200, &json!(true)),
        "check: {body}"
    );

    // 4. A weak password is refused; the code stays valid.
    let (status, _, body) = api
        .post(
            "/password-reset/consume",
            &json!({ "code": code, "password": "short" }),
        )
        .await;
    assert_eq!((status, &body["code"]), (400, &json!("VALIDATION_FAILED")));

    // 5. Consume: the new hash on the users item; the code is spent.
    let (status, _, body) = api
        .post(
            "/password-reset/consume",
            &json!({ "code": code, "password": "a much better passphrase" }),
        )
        .await;
    assert_eq!(
        (status, &body["ok"]),
        (200, &json!(true)),
        "consume: {body}"
    );
    let item = local
        .dynamo
        .user_item("demo-user")
        .await
        .expect("the user item");
    let hash = item
        .get("password_hash")
        .and_then(|v| v.as_s().ok())
        .expect("a password hash on the users item");
    assert!(hash.starts_with("$argon2id$"), "an argon2id PHC string");
    let (status, _, body) = api
        .post("/password-reset/check", &json!({ "code": code }))
        .await;
    assert_eq!(
        (status, &body["is_valid"]),
        (200, &json!(false)),
        "spent: {body}"
    );

    // 7. The per-email cap: 200 200 200 429, the 429 with Retry-After.
    let nobody = format!("{}@example.com", moto::unique_prefix("nobody"));
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let (status, headers, _) = api
            .post("/password-reset/request", &json!({ "email": nobody }))
            .await;
        statuses.push(status);
        if status == 429 {
            retry_after = headers
                .iter()
                .find(|(k, _)| k == "retry-after")
                .map(|(_, v)| v.clone());
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let secs: u64 = retry_after
        .expect("Retry-After on the 429")
        .parse()
        .expect("Retry-After in seconds");
    assert!(secs > 0, "Retry-After {secs}");
}
