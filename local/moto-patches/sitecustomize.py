# Loaded by the local world's moto_server only (local/moto.ts puts this directory on PYTHONPATH).
#
# moto dates a secret's NextRotationDate on its own clock, at least a day ahead (RotateSecret with
# AutomaticallyAfterDays >= 1), and has no way to move that clock. To rehearse an overdue rotation the local
# world may tag a secret `local:next-rotation-days-ago` = N: after each RotateSecret, moto then reports its
# NextRotationDate N days in the past, as Secrets Manager does while the secret's rotations keep failing.
# Secrets without the tag are untouched.
import time

TAG = "local:next-rotation-days-ago"

try:
    from moto.secretsmanager import models as _models

    _rotate_secret = _models.SecretsManagerBackend.rotate_secret

    def _backdate(self, secret_id):
        try:
            secret = self.secrets[secret_id]
            for tag in getattr(secret, "tags", None) or []:
                if tag.get("Key") == TAG:
                    secret.next_rotation_date = int(time.time()) - int(float(tag.get("Value", "1")) * 86400)
        except Exception:  # the patch must never break moto
            pass

    def _rotate_secret_backdated(self, secret_id, *args, **kwargs):
        # moto registers the rotation and then fails to find the Lambda (the local world has none): backdate
        # either way.
        try:
            return _rotate_secret(self, secret_id, *args, **kwargs)
        finally:
            _backdate(self, secret_id)

    _models.SecretsManagerBackend.rotate_secret = _rotate_secret_backdated
except Exception:  # moto layout changed: the patch is off, nothing else is affected
    pass

# The local world starts moto in its own process group (local/moto.ts), so a terminal's Ctrl-C reaches only
# the Node process that started it, which then stops moto. If that process dies without stopping it (SIGKILL,
# a closed terminal), moto must not outlive it: a daemon thread ends moto once the parent's pid is gone.
import os
import threading

_parent = os.environ.get("LOCAL_WORLD_PARENT_PID")


def _exit_with_parent(pid):
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except Exception:  # e.g. PermissionError: the pid exists
            pass


if _parent and _parent.isdigit():
    threading.Thread(target=_exit_with_parent, args=(int(_parent),), daemon=True).start()
