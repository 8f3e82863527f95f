# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How archives are stored in the catalog: encryption, storage class, tags, object lock, transfer tuning."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  encryption:
    description:
      - Server-side encryption of the stored objects. V(none) leaves it to the bucket's default.
    type: str
    choices: [none, AES256, "aws:kms"]
  kms_key_id:
    description:
      - The KMS key for O(encryption=aws:kms). Unset means the account's default S3 key.
    type: str
  storage_class:
    description:
      - The storage class of the archive object, for example C(STANDARD_IA) or C(GLACIER_IR). The manifest always
        stays in the default class so that the catalog stays readable.
    type: str
  tags:
    description:
      - Object tags for the archive and its manifest.
    type: dict
  object_lock_mode:
    description:
      - Object-lock retention for the archive and its manifest; the bucket must have object lock enabled.
      - Use together with O(object_lock_days).
    type: str
    choices: [GOVERNANCE, COMPLIANCE]
  object_lock_days:
    description:
      - Days of object-lock retention from the time of the upload.
    type: int
  part_size:
    description:
      - The transfer part size (C(8MB), C(64MB)...). It is raised when needed so that an archive fits in 10,000 parts.
        S3 needs at least C(5MB).
    type: bytes
    default: 8MB
  max_concurrency:
    description:
      - How many parts are transferred at once. Memory use is about O(part_size) times this plus one.
    type: int
    default: 8
"""
