//! `sam local invoke` of every `tests/events/*.json`, each answering its documented status.

use super::*;

#[tokio::test]
#[ignore = "needs Docker, the local base image and `sam build`: scripts/test.d/50-sam-local"]
async fn every_event_answers_its_documented_status_through_sam_local_invoke() {
    let _one = ONE_AT_A_TIME.lock().await;
    let local = Local::start("sam-invoke").await;
    let dir = root().join("tests/events");
    let mut seen = 0;
    let mut inits = Vec::new();
    for &(file, status, code) in crate::events::DOCUMENTED {
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let function = function_of(&event);
        let started = Instant::now();
        let event_file = dir.join(file);
        let out = run(&mut local.sam(
            "invoke",
            &[
                function.as_ref(),
                "--event".as_ref(),
                event_file.as_os_str(),
            ],
        ));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reply: Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l.trim()).ok())
            .unwrap_or_else(|| panic!("{file}: no JSON reply on stdout: {stdout}\n{stderr}"));
        let body: Value = serde_json::from_str(reply["body"].as_str().unwrap_or("null"))
            .unwrap_or_else(|_| panic!("{file}: the body is not JSON: {reply}"));
        assert_eq!(
            reply["statusCode"],
            json!(status),
            "{file}: {reply}\n{stderr}"
        );
        match code {
            Some(code) => assert_eq!(body["code"], json!(code), "{file}: {body}"),
            None => assert!(body.get("code").is_none(), "{file}: {body}"),
        }
        let init = init_duration(&stderr);
        println!(
            "sam local invoke {function:<16} {file:<32} {status} in {:.1} s, Init Duration {} ms",
            started.elapsed().as_secs_f64(),
            init.as_deref().unwrap_or("(not reported)")
        );
        inits.push((function, init));
        seen += 1;
    }
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("json".as_ref()))
        .count();
    assert_eq!(seen, on_disk, "every tests/events/*.json is in DOCUMENTED");
    for function in ["RequestFunction", "CheckFunction", "ConsumeFunction"] {
        let first = inits.iter().find(|(f, _)| *f == function);
        println!(
            "cold start {function}: Init Duration {} ms (RIE, under qemu on this machine)",
            first
                .and_then(|(_, i)| i.as_deref())
                .unwrap_or("(not reported)")
        );
    }
}
