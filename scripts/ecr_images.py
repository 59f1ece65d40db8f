"""ECR images for the demo and the bench: one layer of its own per tag.

moto derives an image's digest from its layer digests, so tags pushed without layers all get
the digest of the empty string (sha256:e3b0c442...) and every `tag@digest` check passes by
accident. Shared by scripts/demo_seed.py and bench/bench.py.
"""

import hashlib
import json


def push_images(ecr, repository: str, tags) -> None:
    """Pushes each tag of `repository` as a distinct image (its own config and layer)."""
    for tag in tags:
        layer = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
        config = hashlib.sha256(f"{repository}:{tag}:config".encode()).hexdigest()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": 1,
                    "digest": f"sha256:{config}",
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 1,
                        "digest": f"sha256:{layer}",
                    }
                ],
            }
        )
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)
