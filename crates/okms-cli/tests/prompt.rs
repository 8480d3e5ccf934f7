//! The terminal passphrase prompt, driven through a pseudo-terminal made by `script(1)`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Sandbox;

/// Runs `okms-cli ARGS` on a pseudo-terminal with `input` typed in; None if `script` is missing.
fn on_tty(s: &Sandbox, args: &str, input: &str) -> Option<(i32, String)> {
    common::have_script("the terminal prompt").then(|| {
        let (code, text) = common::on_tty(s.dir.path(), args, input, &[]);
        (code.unwrap_or(-1), text)
    })
}

#[test]
fn prompt_asks_twice_for_a_new_key_and_once_to_open_it() {
    let s = Sandbox::new();
    let Some((code, text)) = on_tty(
        &s,
        "key new --encrypt --out k.pem",
        "tty secret\ntty secret\n",
    ) else {
        return;
    };
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Passphrase for k.pem") && text.contains("Repeat the passphrase"),
        "{text}"
    );
    assert_eq!(s.mode("k.pem"), 0o600);
    // The prompted passphrase is the one the key is encrypted with.
    s.write("pw", "tty secret\n");
    s.cmd()
        .args(["key", "show", "k.pem", "--passphrase-file", "pw"])
        .assert()
        .success();

    let (code, text) = on_tty(&s, "key show k.pem", "tty secret\n").unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Encrypted:") && text.contains("yes"),
        "{text}"
    );
}

#[test]
fn prompt_refuses_two_different_passphrases() {
    let s = Sandbox::new();
    let Some((code, text)) = on_tty(&s, "key new --encrypt --out k.pem", "one\ntwo\n") else {
        return;
    };
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("the two passphrases differ"), "{text}");
    assert!(!s.exists("k.pem"));
    assert!(s.snapshot().is_empty());
}
