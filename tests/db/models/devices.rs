//! Non-integer keys as targets: labels keyed by text, devices by UUID, their readings and racks.

use orm_core::prelude::*;
use uuid::Uuid;

use super::names_of;

/// A label keyed by a short text code.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_labels")]
pub(crate) struct Label {
    /// Text primary key.
    #[orm(primary_key, max_length = 16)]
    pub code: String,
    /// Title.
    pub title: String,
    /// Device.label, reversed.
    pub devices: Reverse<Device>,
    /// Device.tags, reversed.
    pub tagged: Reverse<Device>,
}

/// A device keyed by a UUID.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_devices")]
pub(crate) struct Device {
    /// UUID primary key (set by the caller).
    #[orm(primary_key)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// A nullable key to a text primary key.
    #[orm(related_name = "devices", on_delete = "set_null")]
    pub label: Option<ForeignKey<Label>>,
    /// UUID owner, text target.
    #[orm(related_name = "tagged")]
    pub tags: ManyToMany<Label>,
    /// Reading.device, reversed.
    pub readings: Reverse<Reading>,
    /// Rack.devices, reversed.
    pub racks: Reverse<Rack>,
}

/// A reading of a device (a key to a UUID primary key).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_readings")]
pub(crate) struct Reading {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with its device.
    #[orm(related_name = "readings")]
    pub device: ForeignKey<Device>,
    /// Value.
    pub value: i32,
}

/// A rack of devices (integer owner, UUID target).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_racks")]
pub(crate) struct Rack {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Linked devices.
    #[orm(related_name = "racks")]
    pub devices: ManyToMany<Device>,
}

pub(crate) async fn label(code: &str, title: &str) -> Result<Label> {
    Label::create(Label {
        code: code.into(),
        title: title.into(),
        ..Default::default()
    })
    .await
}

pub(crate) async fn device(name: &str, label: Option<&Label>) -> Result<Device> {
    Device::create(Device {
        id: Uuid::new_v4(),
        name: name.into(),
        label: label.map(ForeignKey::to).transpose()?,
        ..Default::default()
    })
    .await
}

pub(crate) async fn reading(device: &Device, value: i32) -> Result<Reading> {
    Reading::create(Reading {
        device: ForeignKey::to(device)?,
        value,
        ..Default::default()
    })
    .await
}

pub(crate) fn devices(rows: &[Device]) -> Vec<String> {
    names_of(rows, |d| &d.name)
}

pub(crate) fn codes(rows: &[Label]) -> Vec<String> {
    names_of(rows, |l| &l.code)
}
