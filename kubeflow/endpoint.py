"""A Kubeflow Pipelines endpoint as kfp's client reaches it: the namespace, the credentials, and one
line for what the endpoint refused.

Credentials are what kfp's client takes, read from files and never printed or written: a bearer
token (`existing_token`), a login cookie (`cookies`, sent as the Cookie header), or none. Inside a
cluster, without either file, the token is the one kfp's client reads there (KF_PIPELINES_SA_TOKEN_PATH,
else /var/run/secrets/kubeflow/pipelines/token).
"""
import dataclasses
import json
import logging
import os
import warnings


@dataclasses.dataclass(frozen=True)
class Credentials:
    source: str  # what the output names: where the secret came from, never the secret
    token: str | None = dataclasses.field(default=None, repr=False)
    cookie: str | None = dataclasses.field(default=None, repr=False)


def _read_secret(path: str, what: str) -> str:
    """The file's one line; a bad file is named, its content never shown."""
    try:
        with open(path) as f:
            secret = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or type(e).__name__
        raise ValueError(f"{what} {path}: cannot read it ({reason})") from None
    if not secret:
        raise ValueError(f"{what} {path} is empty")
    if "\n" in secret:
        raise ValueError(f"{what} {path} has more than one line; it holds one HTTP header value")
    return secret


def read_credentials(token_file: str | None, cookie_file: str | None) -> Credentials:
    from kfp import client as kfp_client
    if token_file:
        return Credentials(f"the bearer token in {token_file}", token=_read_secret(token_file, "--token-file"))
    if cookie_file:
        cookie = _read_secret(cookie_file, "--cookie-file")
        if "=" not in cookie:
            raise ValueError(f"--cookie-file {cookie_file} holds no NAME=VALUE pair "
                             "(the Cookie header, e.g. oauth2_proxy_kubeflow=...)")
        return Credentials(f"the login cookie in {cookie_file}", cookie=cookie)
    in_cluster_token = os.environ.get(kfp_client.KF_PIPELINES_SA_TOKEN_ENV)
    if in_cluster_token or os.path.exists(kfp_client.KF_PIPELINES_SA_TOKEN_PATH):
        path = in_cluster_token or kfp_client.KF_PIPELINES_SA_TOKEN_PATH
        return Credentials(f"the service-account token in {path}", token=_read_secret(path, "service-account token"))
    return Credentials("no credentials")


def connect(endpoint: str, namespace: str | None, credentials: Credentials):
    """kfp's client for the endpoint. Call it with stdout redirected: the client prints links there."""
    import kfp
    warnings.filterwarnings("ignore", category=FutureWarning, module="kfp")  # "only works with KFP >= 2.0.0-beta.2"
    # One line per retry (kfp resets the "urllib3" logger itself); the final error is reported.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # Given a namespace (other than its default "kubeflow"), the client neither asks healthz nor, in a
    # pod, stores the pod's namespace in ~/.config/kfp/context.json (kfp/client/client.py, Client.__init__).
    return kfp.Client(host=endpoint, namespace=namespace or "kubeflow", existing_token=credentials.token,
                      cookies=credentials.cookie)


def where(endpoint: str, namespace: str | None) -> str:
    return f"{endpoint} (namespace {namespace})" if namespace else endpoint


def refusal(error, endpoint: str, namespace: str | None, credentials: Credentials) -> str:
    """One line for an HTTP error status from the endpoint (kfp_server_api.ApiException)."""
    if error.status == 401:
        sent = credentials.token or credentials.cookie
        why = (f"{credentials.source} was not accepted" if sent else
               "no credentials were sent: give --token-file or --cookie-file (or run where kfp's "
               "service-account token is mounted)")
    elif error.status == 403:
        why = f"{credentials.source} gives no access to namespace {namespace or '(none given)'}"
    else:
        why = _server_message(error.body)
    return f"{where(endpoint, namespace)}: {error.status} {error.reason}: {why}"


def _server_message(body) -> str:
    """The first line of the message of the google.rpc.Status that KFP's API answers an error with."""
    try:
        message = json.loads(body).get("message") or ""
    except (TypeError, ValueError, AttributeError):  # no body, or not that JSON (a proxy's page)
        message = ""
    return (message.strip().splitlines() or ["no message"])[0]
