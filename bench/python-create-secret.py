"""The Python reference for the bench: createSecret the way AWS's Python rotation template does it
(SecretsManagerRotationTemplate: boto3 imported at module load, the client built in the handler,
describe_secret -> get_secret_value AWSCURRENT -> get_secret_value AWSPENDING -> put_secret_value),
with the template's get_random_password replaced by what a PingOne rotation needs instead: the worker
credentials from SSM and two HTTP calls to PingOne (token, regenerate) with urllib from the standard
library, as a Lambda without extra packages would make them. No crash-safety read of PingOne (the template
has none), so it does less work than the Node function's createSecret.

Run by bench/lambda.ts as a fresh process per sample, timed from spawn: it prints "init" once the module
is loaded (the end of Lambda's Python init phase) and "done" after the handler, each with the process's CPU
time so far (time.process_time: all threads, since exec). Event and settings come from the environment: SECRET_ID, TOKEN, PINGONE_API_URL, PINGONE_AUTH_URL
(templates with {region}), PINGONE_WORKER_PARAMETER, AWS_ENDPOINT_URL (moto).
"""
import base64
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import boto3

print("init", time.process_time(), flush=True)


def lambda_handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    service_client = boto3.client("secretsmanager")
    metadata = service_client.describe_secret(SecretId=arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))
    if event["Step"] == "createSecret":
        create_secret(service_client, arn, token)


def create_secret(service_client, arn, token):
    current = json.loads(service_client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    try:
        service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        return
    except service_client.exceptions.ResourceNotFoundException:
        pass
    ssm = boto3.client("ssm")
    worker = json.loads(
        ssm.get_parameter(Name=os.environ["PINGONE_WORKER_PARAMETER"], WithDecryption=True)["Parameter"]["Value"]
    )
    auth = os.environ["PINGONE_AUTH_URL"].replace("{region}", worker["region"].lower())
    api = os.environ["PINGONE_API_URL"].replace("{region}", current["region"].lower())
    basic = base64.b64encode(
        ("%s:%s" % (urllib.parse.quote_plus(worker["clientId"]), urllib.parse.quote_plus(worker["clientSecret"]))).encode()
    ).decode()
    request = urllib.request.Request(
        "%s/%s/as/token" % (auth, worker["environmentId"]),
        data=b"grant_type=client_credentials",
        headers={"authorization": "Basic " + basic, "content-type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        access_token = json.load(response)["access_token"]
    request = urllib.request.Request(
        "%s/environments/%s/resources/%s/secret" % (api, current["environmentId"], current["resourceId"]),
        data=json.dumps({"previous": {"expiresAt": (datetime.now(timezone.utc) + timedelta(days=7)).isoformat(timespec="milliseconds").replace("+00:00", "Z")}}).encode(),
        headers={"authorization": "Bearer " + access_token, "content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        regenerated = json.load(response)
    current["clientSecret"] = regenerated["secret"]
    service_client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current), VersionStages=["AWSPENDING"]
    )


if __name__ == "__main__":
    lambda_handler(
        {"Step": "createSecret", "SecretId": os.environ["SECRET_ID"], "ClientRequestToken": os.environ["TOKEN"]},
        None,
    )
    print("done", time.process_time(), flush=True)
    sys.exit(0)
