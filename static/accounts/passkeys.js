// After a passkey is registered, reload "Mi cuenta" so it lists the new key (and, when it
// was the account's first second factor, leaves the enrolment-only state).
document.addEventListener("otp_webauthn.register_complete", function () {
  window.setTimeout(function () { window.location.reload(); }, 500);
});
