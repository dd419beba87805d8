// "Forgot your password?": posts the address to /password-reset/request and shows the
// service's reply. The reply is the same whether or not the account exists.
'use strict';

(function () {
  const form = document.getElementById('request-form');
  const email = document.getElementById('email');
  const emailError = document.getElementById('email-error');
  const submit = document.getElementById('request-submit');
  const status = document.getElementById('status');

  function say(message, kind) {
    status.textContent = message;
    status.className = 'status' + (kind ? ' is-' + kind : '');
  }

  function fieldError(message) {
    emailError.textContent = message ? sentence(message) : '';
    emailError.hidden = !message;
    if (message) {
      email.setAttribute('aria-invalid', 'true');
    } else {
      email.removeAttribute('aria-invalid');
    }
  }

  const { sentence, postJson } = window.resetApi;

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    fieldError('');
    const address = email.value.trim();
    if (!address) {
      fieldError('Enter your email address.');
      say('Check the email address.', 'error');
      email.focus();
      return;
    }
    submit.disabled = true;
    say('Sending…');
    try {
      const { status: code, data } = await postJson('/password-reset/request', { email: address });
      if (code === 200) {
        say(data.message || 'If an account exists for this address, a link is on its way.', 'ok');
        return;
      }
      const fields = data.field_errors || {};
      if (fields.email) {
        fieldError(fields.email);
        say('Check the email address.', 'error');
        email.focus();
        return;
      }
      let message = data.error || 'Something went wrong. Try again.';
      if (code === 429 && data.retry_after) {
        message += ' (about ' + Math.ceil(data.retry_after / 60) + ' min)';
      }
      say(message, 'error');
    } catch (_) {
      say('The service could not be reached. Check your connection and try again.', 'error');
    } finally {
      submit.disabled = false;
    }
  });
})();
