#!/usr/bin/env python3
"""A tiny Lambda runtime for mock-lambda's tests: the Runtime API over urllib, nothing else.

MODE picks what each invocation does:
  echo       answer {statusCode: 200, body: JSON of the event, the Lambda-Runtime-* headers
             and the AWS_* / LAMBDA_* / TGBENCH_* variables}
  sleep      sleep SLEEP_S seconds, then answer like echo
  spin       like sleep, with a thread burning CPU all the time (frozen, it cannot)
  error      post an error to /invocation/{id}/error
  invalid    answer a payload that is not JSON
  crash      start a `sleep 300` child (its pid written to PID_FILE), then exit 3
  oom        write 400 MB, then answer
  never_next start, and never ask for an event
  init_error post /init/error, then exit 1
IGNORE_TERM=1 ignores SIGTERM (so a shutdown phase ends only with SIGKILL).
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
MODE = os.environ.get("MODE", "echo")


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(API + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        return response.status, response.headers, response.read()


def respond(request_id, payload):
    call("POST", f"/invocation/{request_id}/response", json.dumps(payload).encode())


def echo(request_id, headers, event):
    variables = {k: v for k, v in os.environ.items()
                 if k.startswith(("AWS_", "LAMBDA_", "TGBENCH_", "_HANDLER"))}
    runtime_headers = {k: v for k, v in headers.items() if k.lower().startswith("lambda-runtime-")}
    body = {"event": json.loads(event), "headers": runtime_headers, "env": variables, "pid": os.getpid()}
    respond(request_id, {"statusCode": 200, "headers": {"content-type": "application/json"},
                         "body": json.dumps(body)})


def spin():
    while True:
        pass


if os.environ.get("IGNORE_TERM") == "1":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if MODE == "never_next":
    time.sleep(3600)
if MODE == "init_error":
    call("POST", "/init/error", json.dumps({"errorType": "Test.InitFailed", "errorMessage": "on purpose"}).encode(),
         {"Lambda-Runtime-Function-Error-Type": "Test.InitFailed"})
    sys.exit(1)
if MODE == "spin":
    threading.Thread(target=spin, daemon=True).start()

while True:
    status, headers, event = call("GET", "/invocation/next")
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    if MODE in ("sleep", "spin"):
        time.sleep(float(os.environ.get("SLEEP_S", "1")))
        echo(request_id, headers, event)
    elif MODE == "error":
        call("POST", f"/invocation/{request_id}/error",
             json.dumps({"errorType": "Test.Failed", "errorMessage": "on purpose"}).encode(),
             {"Lambda-Runtime-Function-Error-Type": "Test.Failed"})
    elif MODE == "invalid":
        call("POST", f"/invocation/{request_id}/response", b"this is not JSON")
    elif MODE == "crash":
        child = subprocess.Popen(["sleep", "300"])
        with open(os.environ["PID_FILE"], "w") as f:
            f.write(str(child.pid))
        os._exit(3)
    elif MODE == "oom":
        hog = b"x" * (400 << 20)
        respond(request_id, {"statusCode": 200, "body": str(len(hog))})
    else:
        echo(request_id, headers, event)
