"""The lab's two images: a bare one for the lab's hosts, and one with the role packages for molecule."""

from __future__ import annotations

import pytest

from aifactory.lab import image


def test_lab_image_holds_no_role_package_and_molecule_image_extends_it() -> None:
    assert not set(image.ROLE_PACKAGES) & set(image.BOOTSTRAP_PACKAGES)
    assert image.image_key(image.LAB) != image.image_key(image.MOLECULE)
    assert image.image_ref(image.LAB).startswith("localhost/aifactory-lab:")
    assert image.image_ref(image.MOLECULE).startswith("localhost/aifactory-molecule:")
    assert image.rootfs_tarball(image.LAB) != image.rootfs_tarball(image.MOLECULE)


def test_role_packages_key_only_the_molecule_image(monkeypatch: pytest.MonkeyPatch) -> None:
    lab, molecule = image.image_key(image.LAB), image.image_key(image.MOLECULE)
    monkeypatch.setattr(image, "ROLE_PACKAGES", (*image.ROLE_PACKAGES, "hello"))
    assert lab == image.image_key(image.LAB)
    assert molecule != image.image_key(image.MOLECULE)
    monkeypatch.setattr(image, "BOOTSTRAP_PACKAGES", (*image.BOOTSTRAP_PACKAGES, "hello"))
    assert lab != image.image_key(image.LAB)
