// The reset callback page. The mail's link is `/reset?code=...`, or `/reset#code=...` with
// LINK_CODE_IN=fragment (the code then never reaches any server's access log):
//  1. read the code and take it out of the address bar at once (history.replaceState), so it
//     does not stay in history, bookmarks or screenshots;
//  2. ask /password-reset/check whether it is still valid (never spends it);
//  3. offer new password + confirmation, compare the two here, let the service judge the
//     policy, and show its structured errors next to the right field;
//  4. /password-reset/consume spends the code; INVALID_CODE means the link is dead.
// Without a code in the address ("I have a code"), the form also asks for the address and the
// short code from the mail, and consume gets {email, otp, password}. It does not call check
// first: every short-code try counts against OTP_MAX_ATTEMPTS, and a check would spend one.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const code = fragment.get('code') || params.get('code') || '';
  if (window.location.search || window.location.hash) {
    window.history.replaceState(null, '', window.location.pathname);
  }

  const sections = {
    checking: document.getElementById('checking'),
    invalid: document.getElementById('invalid'),
    choose: document.getElementById('choose'),
    done: document.getElementById('done'),
  };
  const form = document.getElementById('reset-form');
  const password = document.getElementById('password');
  const confirm = document.getElementById('confirm');
  const submit = document.getElementById('reset-submit');
  const status = document.getElementById('status');
  const email = document.getElementById('email');
  const otp = document.getElementById('otp');
  const errors = {
    email: document.getElementById('email-error'),
    otp: document.getElementById('otp-error'),
    password: document.getElementById('password-error'),
    confirm: document.getElementById('confirm-error'),
  };
  const inputs = { email: email, otp: otp, password: password, confirm: confirm };
  const byCode = !code;

  function say(message, kind) {
    status.textContent = message || '';
    status.className = 'status' + (kind ? ' is-' + kind : '');
  }

  function show(name) {
    Object.keys(sections).forEach(function (key) {
      sections[key].hidden = key !== name;
    });
    sections.checking.removeAttribute('aria-busy');
    if (name === 'choose') {
      (byCode ? email : password).focus();
    } else {
      const heading = sections[name].querySelector('h1');
      if (heading) heading.focus();
    }
  }

  function fieldError(field, message) {
    errors[field].textContent = message ? sentence(message) : '';
    errors[field].hidden = !message;
    if (message) {
      inputs[field].setAttribute('aria-invalid', 'true');
    } else {
      inputs[field].removeAttribute('aria-invalid');
    }
  }

  function invalid() {
    say('');
    show('invalid');
  }

  const { sentence, postJson } = window.resetApi;

  async function check() {
    if (byCode) {
      document.getElementById('code-fields').hidden = false;
      document.getElementById('choose-title').textContent = 'Enter your code and a new password';
      show('choose');
      return;
    }
    try {
      const { status: httpStatus, data } = await postJson('/password-reset/check', { code: code });
      if (httpStatus === 200 && data.is_valid === true) {
        show('choose');
      } else if (httpStatus === 200 || data.code === 'INVALID_CODE') {
        invalid();
      } else {
        say(data.error || 'Something went wrong. Reload the page to try again.', 'error');
      }
    } catch (_) {
      say('The service could not be reached. Reload the page to try again.', 'error');
    }
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    Object.keys(errors).forEach(function (field) {
      fieldError(field, '');
    });
    say('');
    if (password.value !== confirm.value) {
      fieldError('confirm', 'The two passwords do not match.');
      say('Check the confirmation: it must match the new password.', 'error');
      confirm.focus();
      return;
    }
    submit.disabled = true;
    say('Saving…');
    try {
      const body = byCode
        ? { email: email.value.trim(), otp: otp.value.replace(/\s/g, ''), password: password.value }
        : { code: code, password: password.value };
      const { status: httpStatus, data } = await postJson('/password-reset/consume', body);
      if (httpStatus === 200 && data.ok) {
        password.value = '';
        confirm.value = '';
        say('Password changed.', 'ok');
        show('done');
        return;
      }
      if (data.code === 'INVALID_CODE' && byCode) {
        fieldError('otp', 'This code is wrong, used or expired. Check it, or ask for a new mail.');
        say('The code was not accepted.', 'error');
        otp.focus();
        return;
      }
      if (data.code === 'INVALID_CODE') {
        invalid();
        return;
      }
      const fields = data.field_errors || {};
      const first = ['email', 'otp'].find(function (field) {
        return fields[field];
      });
      if (first) {
        fieldError(first, fields[first]);
        say('Check the ' + (first === 'otp' ? 'code' : 'address') + ': ' + fields[first], 'error');
        inputs[first].focus();
        return;
      }
      if (fields.password) {
        fieldError('password', fields.password);
        say('Check the new password: ' + fields.password, 'error');
        password.focus();
        return;
      }
      let message = data.error || 'Something went wrong. Try again.';
      if (data.retry_after) {
        message += ' (try again in ' + data.retry_after + ' s)';
      }
      say(message, 'error');
    } catch (_) {
      say('The service could not be reached. Check your connection and try again.', 'error');
    } finally {
      submit.disabled = false;
    }
  });

  check();
})();
