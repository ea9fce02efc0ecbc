"""How ``upload``, ``schedule`` and ``unschedule`` reach Kubeflow Pipelines: ``EF_KFP_*`` settings.

They are ``kfp.Client``'s connection options. At most one way to authenticate is set: a token made
outside (``existing_token``), a service-account token file read again before every request
(``sa_token_path``, ``kfp.client.ServiceAccountTokenVolumeCredentials``), or the OAuth client id of
an Identity-Aware Proxy (``client_id``). With none, requests carry no credentials (a port-forward).
Imports no ML library and not kfp, so the README's settings table can be made from it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "EF_KFP_"


class KfpSettings(BaseSettings):
    """Connection to Kubeflow Pipelines for upload, schedule and unschedule (kfp.Client options)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, populate_by_name=True, env_ignore_empty=True
    )

    host: str = Field(
        "",
        validation_alias=AliasChoices("EF_KFP_HOST", "KF_PIPELINES_ENDPOINT"),
        description="Kubeflow Pipelines API URL, e.g. http://localhost:8080; --host overrides it.",
    )
    namespace: str = Field(
        "",
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$",
        max_length=63,
        description="Profile namespace of the pipeline, experiment and recurring runs in a multi-user "
        "Kubeflow (required there); empty on a single-user install. --namespace overrides it.",
    )
    existing_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("EF_KFP_EXISTING_TOKEN", "EF_KFP_TOKEN"),
        description="Bearer token made outside the SDK, e.g. an ID token for the proxy in front of KFP "
        "(kfp.Client existing_token).",
    )
    sa_token_path: Path | None = Field(
        None,
        description="Service-account token file, read before every request (kfp.Client credentials="
        "ServiceAccountTokenVolumeCredentials); in a pod: /var/run/secrets/kubeflow/pipelines/token.",
    )
    client_id: str = Field(
        "", description="OAuth client id of the Identity-Aware Proxy in front of KFP (kfp.Client client_id)."
    )
    ssl_ca_cert: Path | None = Field(
        None, description="CA bundle that signed the KFP host's TLS certificate (kfp.Client ssl_ca_cert)."
    )

    @field_validator("host", "client_id")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _one_credential(self) -> KfpSettings:
        given = [
            name
            for name, value in (
                ("EF_KFP_EXISTING_TOKEN", self.existing_token and self.existing_token.get_secret_value()),
                ("EF_KFP_SA_TOKEN_PATH", self.sa_token_path),
                ("EF_KFP_CLIENT_ID", self.client_id),
            )
            if value
        ]
        if len(given) > 1:
            raise ValueError(f"set one way to authenticate to Kubeflow Pipelines, not {' and '.join(given)}")
        return self

    @property
    def token(self) -> str | None:
        return self.existing_token.get_secret_value() if self.existing_token else None
