"""Attestations and provenance of distribution files (PEP 740), verified with ``pypi-attestations``.

Layer 2 (beside ``inspect``): reads bytes, writes nothing. Three forms of input are understood,
each a JSON document:

* a PEP 740 attestation object (``{"version": 1, "verification_material": ..., "envelope": ...}``),
  what ``pypi-attestations sign`` and PyPI's trusted publishing make;
* a raw Sigstore bundle (``{"mediaType": "application/vnd.dev.sigstore.bundle...", ...}``), what
  ``actions/attest-build-provenance`` makes and GitHub's artifact attestations API answers
  (https://docs.github.com/en/rest/users/attestations), converted by ``Attestation.from_bundle``;
* a PEP 740 provenance object (``{"version": 1, "attestation_bundles": [...]}``), what PyPI serves.

Every attestation is verified offline against Sigstore's production trust root that the
``sigstore`` package ships (no network), and against the identity the project expects
(:class:`Publisher`): the certificate's OIDC issuer and source repository, and, when the expected
publisher names one, the workflow file. The signed statement must name exactly the file
(filename and sha256). What the certificate says about the build is kept as :class:`BuiltBy`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import PagesIndexError

#: Suffixes of files that carry attestations beside a distribution file (``<file><suffix>``).
ATTESTATION_SUFFIXES = (".publish.attestation", ".slsa.attestation", ".sigstore", ".provenance")
#: Suffix of the provenance object served beside each file (PEP 740).
PROVENANCE_SUFFIX = ".provenance"
#: The largest attestation document read (bytes); a larger one is refused.
MAX_ATTESTATION_BYTES = 1024 * 1024

GITHUB = "github"
GITLAB = "gitlab"
_ISSUERS = {GITHUB: "https://token.actions.githubusercontent.com", GITLAB: "https://gitlab.com"}
_HOSTS = {GITHUB: "https://github.com", GITLAB: "https://gitlab.com"}
_KINDS = {GITHUB: "GitHub", GITLAB: "GitLab"}

# Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
_OID_ISSUER = "1.3.6.1.4.1.57264.1.8"
_OID_SOURCE_REPOSITORY = "1.3.6.1.4.1.57264.1.12"
_OID_SOURCE_DIGEST = "1.3.6.1.4.1.57264.1.13"
_OID_SOURCE_REF = "1.3.6.1.4.1.57264.1.14"
_OID_BUILD_CONFIG = "1.3.6.1.4.1.57264.1.18"
_OID_RUN = "1.3.6.1.4.1.57264.1.21"

_OWNER_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_GITLAB_PATH = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$")
_WORKFLOW = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]{0,199}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class ProvenanceError(PagesIndexError):
    """An attestation that cannot be read or does not verify, or provenance that is missing
    where it is required. The message is one line naming the file."""


@dataclass(frozen=True)
class Publisher:
    """The identity expected to have signed a project's files.

    Written ``github:OWNER/REPO[:WORKFLOW]`` or ``gitlab:NAMESPACE/PROJECT[:CI_FILE]``;
    ``workflow`` is ``None`` when any workflow of the repository is accepted.

    >>> str(Publisher.parse("github:lab/tool:release.yml"))
    'github:lab/tool:release.yml'
    >>> Publisher.parse("gitlab:group/sub/proj").repository
    'group/sub/proj'
    """

    kind: str
    repository: str
    workflow: Optional[str] = None

    @classmethod
    def parse(cls, text: str, what: str = "publisher") -> "Publisher":
        """Parse ``kind:repository[:workflow]``; raise :class:`ProvenanceError` naming the value."""

        def bad() -> ProvenanceError:
            return ProvenanceError(
                f"invalid {what}: {text!r} (expected github:OWNER/REPO[:WORKFLOW] or gitlab:NAMESPACE/PROJECT[:CI_FILE])"
            )

        if not isinstance(text, str) or _CONTROL.search(text):
            raise bad()
        parts = text.split(":")
        if len(parts) not in (2, 3) or parts[0] not in (GITHUB, GITLAB):
            raise bad()
        kind, repository = parts[0], parts[1]
        workflow = parts[2] if len(parts) == 3 else None
        pattern = _OWNER_REPO if kind == GITHUB else _GITLAB_PATH
        if not pattern.match(repository) or ".." in repository:
            raise bad()
        if workflow is not None and (not _WORKFLOW.match(workflow) or ".." in workflow):
            raise bad()
        if kind == GITHUB and workflow is not None and "/" in workflow:
            raise bad()  # GitHub workflows live in .github/workflows/, named by file name only
        return cls(kind, repository, workflow)

    def __str__(self) -> str:
        return f"{self.kind}:{self.repository}" + (f":{self.workflow}" if self.workflow else "")

    def _policy(self) -> Any:
        """The ``sigstore`` verification policy (or ``pypi-attestations`` publisher) for this identity."""
        if self.workflow:
            from pypi_attestations import GitHubPublisher, GitLabPublisher

            if self.kind == GITHUB:
                return GitHubPublisher(repository=self.repository, workflow=self.workflow)
            return GitLabPublisher(repository=self.repository, workflow_filepath=self.workflow)
        from sigstore.verify import policy

        return policy.AllOf([
            policy.OIDCIssuerV2(_ISSUERS[self.kind]),
            policy.OIDCSourceRepositoryURI(f"{_HOSTS[self.kind]}/{self.repository}"),
        ])


@dataclass(frozen=True)
class BuiltBy:
    """What a verified attestation's certificate says about the build: ``kind`` (``github`` or
    ``gitlab``), ``repository`` (``OWNER/REPO``), ``workflow`` (file name or CI file path),
    ``commit`` (the 40-hex source commit), ``ref``, ``run`` (the run's URL) and the attestation
    ``predicate_types`` seen (PEP 740 publish, SLSA provenance)."""

    kind: str
    repository: str
    workflow: str = ""
    commit: str = ""
    ref: str = ""
    run: str = ""
    predicate_types: Tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        return f"{self.kind}:{self.repository}" + (f":{self.workflow}" if self.workflow else "")

    @property
    def repository_url(self) -> str:
        return f"{_HOSTS[self.kind]}/{self.repository}"

    @property
    def commit_url(self) -> str:
        if not self.commit:
            return ""
        return f"{self.repository_url}/{'-/' if self.kind == GITLAB else ''}commit/{self.commit}"

    def pep740_publisher(self) -> Dict[str, Any]:
        """The PEP 740 ``publisher`` object (``kind`` as PyPI spells it)."""
        if self.kind == GITHUB:
            return {"kind": "GitHub", "repository": self.repository, "workflow": self.workflow, "environment": None}
        return {"kind": "GitLab", "repository": self.repository, "workflow_filepath": self.workflow, "environment": None}

    def to_json(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "repository": self.repository,
            "workflow": self.workflow,
            "commit": self.commit,
            "ref": self.ref,
            "run": self.run,
            "predicate-types": list(self.predicate_types),
        }

    @classmethod
    def from_json(cls, data: Any) -> Optional["BuiltBy"]:
        """The recorded form back, or ``None`` when it is not a well-formed record (hostile state)."""
        if not isinstance(data, dict) or data.get("kind") not in _HOSTS:
            return None
        fields = {}
        for key in ("repository", "workflow", "commit", "ref", "run"):
            value = data.get(key, "")
            if not isinstance(value, str) or _CONTROL.search(value):
                return None
            fields[key] = value
        pattern = _OWNER_REPO if data["kind"] == GITHUB else _GITLAB_PATH
        if not pattern.match(fields["repository"]) or not re.match(r"^[0-9a-f]{0,64}$", fields["commit"]):
            return None
        if fields["run"] and not fields["run"].startswith(_HOSTS[data["kind"]] + "/"):
            return None
        types = data.get("predicate-types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            return None
        return cls(kind=data["kind"], predicate_types=tuple(types), **fields)


@dataclass
class VerifiedProvenance:
    """The outcome for one file: the PEP 740 provenance object to serve (``data``, JSON bytes)
    and the build it names (``built_by``)."""

    filename: str
    sha256: str
    data: bytes
    built_by: BuiltBy
    sources: List[str] = field(default_factory=list)


def _der_utf8(raw: bytes) -> str:
    """Decode a DER UTF8String (tag 0x0C), as Fulcio's newer extensions hold."""
    if len(raw) < 2 or raw[0] != 0x0C:
        return raw.decode("utf-8", "replace")
    length = raw[1]
    start = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(raw[2 : 2 + count], "big")
        start = 2 + count
    return raw[start : start + length].decode("utf-8", "replace")


def certificate_claims(certificate_der: bytes) -> Dict[str, str]:
    """The Fulcio claims of a signing certificate (DER), keyed by OID; empty when unreadable."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        return {}
    claims = {}
    for ext in cert.extensions:
        oid = ext.oid.dotted_string
        if oid.startswith("1.3.6.1.4.1.57264.1.") and hasattr(ext.value, "value"):
            claims[oid] = _CONTROL.sub("?", _der_utf8(ext.value.value))[:300]
    return claims


def built_by(certificate_der: bytes) -> Optional[BuiltBy]:
    """The :class:`BuiltBy` a certificate claims (GitHub Actions or GitLab CI), or ``None``."""
    claims = certificate_claims(certificate_der)
    issuer = claims.get(_OID_ISSUER, "")
    kind = next((k for k, v in _ISSUERS.items() if v == issuer), None)
    if kind is None:
        return None
    host = _HOSTS[kind] + "/"
    source = claims.get(_OID_SOURCE_REPOSITORY, "")
    if not source.startswith(host):
        return None
    repository = source[len(host):]
    config = claims.get(_OID_BUILD_CONFIG, "")
    workflow = ""
    prefix = f"{host}{repository}/.github/workflows/" if kind == GITHUB else f"{host}{repository}//"
    if config.startswith(prefix):
        workflow = config[len(prefix):].split("@", 1)[0]
    run = claims.get(_OID_RUN, "")
    commit = claims.get(_OID_SOURCE_DIGEST, "")
    return BuiltBy(
        kind=kind,
        repository=repository,
        workflow=workflow,
        commit=commit if re.match(r"^[0-9a-f]{40,64}$", commit) else "",
        ref=claims.get(_OID_SOURCE_REF, ""),
        run=run if run.startswith(host) else "",
    )


def _describe_found(attestation: Any) -> str:
    found = built_by(attestation.verification_material.certificate)
    if found is None:
        issuer = certificate_claims(attestation.verification_material.certificate).get(_OID_ISSUER)
        return f"a signer from {issuer}" if issuer else "an unknown signer"
    return found.identity


def load_attestations(data: bytes, source: str) -> List[Any]:
    """Read the attestations in one JSON document (any of the three forms, see the module doc).

    Returns ``pypi_attestations.Attestation`` objects. Raises :class:`ProvenanceError` naming
    ``source`` when the document is too large, not JSON, or none of the three forms.
    """
    if len(data) > MAX_ATTESTATION_BYTES:
        raise ProvenanceError(f"{source}: attestation too large ({len(data)} bytes, at most {MAX_ATTESTATION_BYTES})")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProvenanceError(f"{source}: not an attestation (not JSON)") from None
    if not isinstance(doc, dict):
        raise ProvenanceError(f"{source}: not an attestation (not a JSON object)")
    from pydantic import ValidationError
    from pypi_attestations import Attestation, Provenance

    try:
        if "attestation_bundles" in doc:
            prov = Provenance.model_validate(doc)
            return [a for bundle in prov.attestation_bundles for a in bundle.attestations]
        if "envelope" in doc:
            return [Attestation.model_validate(doc)]
        if "mediaType" in doc:
            from sigstore.models import Bundle

            return [Attestation.from_bundle(Bundle.from_json(data))]
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProvenanceError(f"{source}: not a valid attestation ({_CONTROL.sub('?', first)[:200]})") from None
    except Exception as exc:  # sigstore raises its own errors for malformed bundles
        raise ProvenanceError(f"{source}: not a valid attestation ({type(exc).__name__})") from None
    raise ProvenanceError(
        f"{source}: not an attestation (expected a PEP 740 attestation, a Sigstore bundle or a PEP 740 provenance object)"
    )


def _quiet_sigstore() -> None:
    # sigstore logs a warning that the trust root is not refreshed: that is the point (offline).
    logging.getLogger("sigstore").setLevel(logging.ERROR)


def verify_attestation(attestation: Any, filename: str, sha256: str, expected: Publisher, source: str = "") -> Tuple[BuiltBy, str]:
    """Verify one attestation of ``filename`` (bytes with hex digest ``sha256``) offline.

    Checks the Sigstore signature and transparency log entry against the bundled trust root, the
    certificate against ``expected``, and that the signed statement's one subject is exactly
    ``filename`` with ``sha256``. Returns the build the certificate names and the predicate type.
    Raises :class:`ProvenanceError`: ``<filename>: provenance refused (<source>): expected
    publisher <expected>, found <found>: <reason>``.
    """
    from pypi_attestations import AttestationError, Distribution

    _quiet_sigstore()
    where = f" ({source})" if source else ""

    def refuse(reason: str) -> ProvenanceError:
        if "Build Config URI" in reason:
            reason = "signed by another workflow"
        reason = reason.replace("Verification failed: ", "")
        reason = _CONTROL.sub("?", reason.strip().splitlines()[0] if reason.strip() else "verification failed")[:300]
        return ProvenanceError(
            f"{filename}: provenance refused{where}: expected publisher {expected}, found {_describe_found(attestation)}: {reason}"
        )

    try:
        dist = Distribution(name=filename, digest=sha256)
    except Exception as exc:
        raise refuse(f"not a distribution filename ({exc.__class__.__name__})") from None
    try:
        predicate_type, _predicate = attestation.verify(expected._policy(), dist, offline=True)
    except AttestationError as exc:
        raise refuse(str(exc)) from None
    except Exception as exc:  # a malformed certificate or bundle reaches sigstore's own errors
        raise refuse(f"{type(exc).__name__}: {exc}") from None
    try:
        subject = json.loads(attestation.envelope.statement)["subject"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise refuse("unreadable statement") from None
    if subject.get("name") != filename:
        raise refuse(f"the statement names {subject.get('name')!r}, not this filename")
    found = built_by(attestation.verification_material.certificate)
    if found is None:
        raise refuse("the certificate names no GitHub or GitLab build")
    return found, str(predicate_type)


def verify_file(filename: str, sha256: str, documents: Sequence[Tuple[str, bytes]], expected: Publisher) -> VerifiedProvenance:
    """Verify every attestation in ``documents`` (``(source name, JSON bytes)`` pairs) for one file
    and make the PEP 740 provenance object to serve.

    All must verify (:func:`verify_attestation`); identical attestations given twice count once.
    Raises :class:`ProvenanceError` (one line naming the file) for the first that does not, or
    when ``documents`` holds no attestation.
    """
    from pypi_attestations import Attestation, AttestationBundle, GitHubPublisher, GitLabPublisher, Provenance

    seen: Dict[bytes, None] = {}
    groups: Dict[str, Tuple[BuiltBy, List[Any]]] = {}
    types: List[str] = []
    sources: List[str] = []
    for source, data in documents:
        for attestation in load_attestations(data, source):
            key = attestation.envelope.signature
            if key in seen:
                continue
            seen[key] = None
            found, predicate_type = verify_attestation(attestation, filename, sha256, expected, source)
            if predicate_type not in types:
                types.append(predicate_type)
            group = groups.setdefault(found.identity, (found, []))
            group[1].append(attestation)
        sources.append(source)
    if not groups:
        raise ProvenanceError(f"{filename}: no attestation found in {', '.join(s for s, _ in documents) or 'nothing'}")
    bundles = []
    first: Optional[BuiltBy] = None
    for found, atts in groups.values():
        first = first or found
        if found.kind == GITHUB:
            pub: Any = GitHubPublisher(repository=found.repository, workflow=found.workflow)
        else:
            pub = GitLabPublisher(repository=found.repository, workflow_filepath=found.workflow)
        bundles.append(AttestationBundle(publisher=pub, attestations=[Attestation.model_validate(a.model_dump()) for a in atts]))
    provenance = Provenance(attestation_bundles=bundles)
    data = json.dumps(json.loads(provenance.model_dump_json()), sort_keys=True, separators=(",", ":")).encode()
    assert first is not None
    result = BuiltBy(first.kind, first.repository, first.workflow, first.commit, first.ref, first.run, tuple(types))
    return VerifiedProvenance(filename=filename, sha256=sha256, data=data, built_by=result, sources=sources)


def check_provenance(data: bytes, filename: str, sha256: str, expected: Optional[Publisher]) -> BuiltBy:
    """Check a served provenance object again (``verify``): every attestation verifies for
    ``filename``/``sha256`` and, when ``expected`` is given, from that publisher (else from the
    publisher each bundle names). Raises :class:`ProvenanceError`."""
    from pydantic import ValidationError
    from pypi_attestations import Provenance

    try:
        prov = Provenance.model_validate_json(data)
    except (ValidationError, ValueError):
        raise ProvenanceError(f"{filename}: the provenance object is not valid PEP 740 JSON") from None
    found: Optional[BuiltBy] = None
    types: List[str] = []
    for bundle in prov.attestation_bundles:
        pub = bundle.publisher
        want = expected
        if want is None:
            kind = {"GitHub": GITHUB, "GitLab": GITLAB}.get(getattr(pub, "kind", ""))
            if kind is None:
                raise ProvenanceError(f"{filename}: the provenance names a publisher of kind {getattr(pub, 'kind', '?')!r}")
            want = Publisher(kind, pub.repository, getattr(pub, "workflow", None) or getattr(pub, "workflow_filepath", None))
        for attestation in bundle.attestations:
            by, predicate_type = verify_attestation(attestation, filename, sha256, want, "served provenance")
            found = found or by
            if predicate_type not in types:
                types.append(predicate_type)
    if found is None:
        raise ProvenanceError(f"{filename}: the provenance object holds no attestation")
    return BuiltBy(found.kind, found.repository, found.workflow, found.commit, found.ref, found.run, tuple(types))


def sidecar_names(filename: str) -> List[str]:
    """The names of the attestation files looked for beside ``filename``."""
    return [filename + suffix for suffix in ATTESTATION_SUFFIXES]


def expected_publisher(extra: Dict[str, Any]) -> Optional[Publisher]:
    """The publisher a project record expects: ``extra["provenance"]["publisher"]`` when set, else
    its GitHub repository (``extra["repository"]["full_name"]``, any workflow), else ``None``.
    Raises :class:`ProvenanceError` for a malformed recorded publisher."""
    prov = extra.get("provenance") if isinstance(extra, dict) else None
    if isinstance(prov, dict) and prov.get("publisher"):
        return Publisher.parse(prov["publisher"], "recorded publisher")
    repo = extra.get("repository") if isinstance(extra, dict) else None
    if isinstance(repo, dict) and isinstance(repo.get("full_name"), str) and _OWNER_REPO.match(repo["full_name"]):
        return Publisher(GITHUB, repo["full_name"])
    return None


def provenance_required(extra: Dict[str, Any], index_setting: Any = False) -> bool:
    """Whether files of a project must have provenance: the project's ``extra["provenance"]["required"]``
    when recorded, else the index setting (``[policy] require-provenance``)."""
    prov = extra.get("provenance") if isinstance(extra, dict) else None
    if isinstance(prov, dict) and isinstance(prov.get("required"), bool):
        return prov["required"]
    return index_setting is True


__all__ = [
    "ATTESTATION_SUFFIXES",
    "BuiltBy",
    "PROVENANCE_SUFFIX",
    "ProvenanceError",
    "Publisher",
    "VerifiedProvenance",
    "check_provenance",
    "expected_publisher",
    "load_attestations",
    "provenance_required",
    "sidecar_names",
    "verify_attestation",
    "verify_file",
]


def _subject_names(data: bytes, source: str) -> List[str]:
    names = []
    for attestation in load_attestations(data, source):
        try:
            names.append(str(json.loads(attestation.envelope.statement)["subject"][0]["name"]))
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProvenanceError(f"{source}: the attestation's statement names no file") from None
    return names


def read_document(path: Any) -> bytes:
    """The bytes of an attestation file, refusing one over :data:`MAX_ATTESTATION_BYTES`."""
    from pathlib import Path

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ATTESTATION_BYTES + 1)
    except OSError as exc:
        raise ProvenanceError(f"{str(path)}: cannot read the attestation ({exc.strerror or exc})") from None
    if len(data) > MAX_ATTESTATION_BYTES:
        raise ProvenanceError(f"{str(path)}: attestation too large (over {MAX_ATTESTATION_BYTES} bytes)")
    return data


def local_documents(paths: Sequence[Any], attestation_paths: Sequence[Any] = ()) -> Dict[str, List[Tuple[str, bytes]]]:
    """The attestation documents of local distribution files, by filename: the files beside each
    (``<file>.publish.attestation``, ``<file>.slsa.attestation``, ``<file>.sigstore``,
    ``<file>.provenance``) and each of ``attestation_paths``, given to the file its statement
    names. Raises :class:`ProvenanceError` for an attestation that names none of the files."""
    from pathlib import Path

    out: Dict[str, List[Tuple[str, bytes]]] = {}
    names = {Path(p).name for p in paths}
    for p in paths:
        p = Path(p)
        for side in sidecar_names(p.name):
            candidate = p.with_name(side)
            if candidate.is_file():
                out.setdefault(p.name, []).append((side, read_document(candidate)))
    for a in attestation_paths:
        a = Path(a)
        data = read_document(a)
        for subject in _subject_names(data, str(a)):
            if subject not in names:
                raise ProvenanceError(
                    f"{str(a)}: the attestation is for {subject!r}, which is not among the files given"
                )
            docs = out.setdefault(subject, [])
            if (a.name, data) not in docs:
                docs.append((a.name, data))
    return out
