// The page's own script, after wasm-bindgen's glue (which defines `wasm_bindgen`). Every rule
// lives in the WebAssembly module (okms-csr and okms-api, as okms-cli runs them); this script
// only reads the form, shows the answer and offers the files.
(function () {
  "use strict";
  // `cargo xtask web` puts the module here, base64: the page loads no other file.
  const WASM_BASE64 = "__OKMS_WASM_BASE64__";

  const FIELDS = ["algorithm", "common_name", "name", "nic", "region", "users", "groups",
    "service_accounts", "validity", "passphrase", "passphrase_confirm"];
  // Where a refusal about the identities as a whole is shown.
  const FIELD_ELEMENT = { identities: "identities", form: "form" };
  const $ = (id) => document.getElementById(id);
  let objectUrls = [];

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function readForm() {
    const form = {};
    for (const id of FIELDS) form[id] = $(id).value;
    form.root = $("root").checked;
    return form;
  }

  function clearRefusal() {
    $("error").hidden = true;
    $("error").textContent = "";
    for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  function showRefusal(refusal) {
    const box = $("error");
    box.textContent = "";
    const message = document.createElement("div");
    message.className = "message";
    message.textContent = "error: " + refusal.message;
    box.appendChild(message);
    if (refusal.hint) {
      const hint = document.createElement("div");
      hint.className = "hint";
      hint.textContent = "hint: " + refusal.hint;
      box.appendChild(hint);
    }
    box.hidden = false;
    const id = refusal.field && (FIELD_ELEMENT[refusal.field] || refusal.field);
    const el = id && $(id);
    if (el) {
      el.setAttribute("aria-invalid", "true");
      if (typeof el.focus === "function" && el.tagName !== "FIELDSET") el.focus();
    }
    $("status").textContent = "Nothing was generated.";
  }

  function offer(linkId, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    objectUrls.push(url);
    $(linkId).href = url;
  }

  function forgetPrevious() {
    for (const url of objectUrls) URL.revokeObjectURL(url);
    objectUrls = [];
    $("result").hidden = true;
    for (const id of ["download_key", "download_csr", "download_request"]) $(id).href = "#";
  }

  function list(id, items) {
    const ul = $(id);
    ul.textContent = "";
    for (const item of items) {
      const li = document.createElement("li");
      li.textContent = item;
      ul.appendChild(li);
    }
  }

  function showResult(out) {
    offer("download_key", out.key_pem, "application/x-pem-file");
    offer("download_csr", out.csr_pem, "application/pkcs10");
    offer("download_request", out.request_json, "application/json");
    $("key_state").textContent = out.key_encrypted
      ? "It is encrypted with your passphrase (PKCS#8, scrypt and AES-256-CBC)."
      : "It is not encrypted: keep it on this host, or give a passphrase and generate again.";
    $("fingerprint").textContent = out.public_key_sha256;
    $("out_algorithm").textContent = out.algorithm;
    $("subject").textContent = out.subject;
    list("urns", out.identity_urns);
    list("warnings", out.warnings.map((w) => "warning: " + w));
    $("csr").textContent = out.csr_pem;
    $("request").textContent = out.request_json;
    $("result").hidden = false;
    $("status").textContent = "Generated. Nothing was sent anywhere.";
  }

  function onGenerate(event) {
    event.preventDefault();
    clearRefusal();
    forgetPrevious();
    const formJson = JSON.stringify(readForm());
    const checked = JSON.parse(wasm_bindgen.check(formJson));
    if (checked.error) {
      showRefusal(checked.error);
      return;
    }
    $("generate").disabled = true;
    $("status").textContent = "Generating the " + $("algorithm").value +
      " key (RSA takes a while in a browser)\u2026";
    // Lets the browser paint the status before the module holds the thread.
    setTimeout(() => {
      try {
        const answer = JSON.parse(wasm_bindgen.generate(formJson));
        if (answer.error) showRefusal(answer.error);
        else showResult(answer.ok);
      } finally {
        $("generate").disabled = false;
      }
    }, 30);
  }

  async function start() {
    try {
      await wasm_bindgen({ module_or_path: decodeBase64(WASM_BASE64) });
    } catch (e) {
      showRefusal({ field: null, message: "the WebAssembly module did not load: " + e,
        hint: "use a current Chromium or Firefox; the page needs WebAssembly" });
      return;
    }
    const select = $("algorithm");
    for (const name of JSON.parse(wasm_bindgen.algorithms())) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      select.appendChild(option);
    }
    $("form").addEventListener("submit", onGenerate);
    $("generate").disabled = false;
    $("status").textContent = "Ready.";
    document.body.dataset.ready = "true";
    // Milliseconds from opening the page to here: what `cargo xtask web --measure` reports.
    document.body.dataset.readyMs = String(Math.round(performance.now()));
  }

  start();
})();
