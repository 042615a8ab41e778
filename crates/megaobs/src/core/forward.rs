//! A macro implementing `tracing_subscriber::Layer` by forwarding every method
//! to a field: megaobs' public layers wrap a per-layer filtered layer so that
//! they compose with any subscriber without filtering other layers' events.

/// Forwards every `Layer<S>` method to `self.$field` (which must be `Layer<S>`).
macro_rules! forward_layer_methods {
    ($field:ident, $S:ty) => {
        fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
            self.$field.on_register_dispatch(subscriber);
        }

        fn on_layer(&mut self, subscriber: &mut $S) {
            self.$field.on_layer(subscriber);
        }

        fn register_callsite(
            &self,
            meta: &'static tracing::Metadata<'static>,
        ) -> tracing::subscriber::Interest {
            self.$field.register_callsite(meta)
        }

        fn enabled(
            &self,
            meta: &tracing::Metadata<'_>,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) -> bool {
            self.$field.enabled(meta, ctx)
        }

        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) {
            self.$field.on_new_span(attrs, id, ctx);
        }

        fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
            self.$field.max_level_hint()
        }

        fn on_record(
            &self,
            span: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) {
            self.$field.on_record(span, values, ctx);
        }

        fn on_follows_from(
            &self,
            span: &tracing::span::Id,
            follows: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) {
            self.$field.on_follows_from(span, follows, ctx);
        }

        fn event_enabled(
            &self,
            event: &tracing::Event<'_>,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) -> bool {
            self.$field.event_enabled(event, ctx)
        }

        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) {
            self.$field.on_event(event, ctx);
        }

        fn on_enter(
            &self,
            id: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) {
            self.$field.on_enter(id, ctx);
        }

        fn on_exit(&self, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, $S>) {
            self.$field.on_exit(id, ctx);
        }

        fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, $S>) {
            self.$field.on_close(id, ctx);
        }

        fn on_id_change(
            &self,
            old: &tracing::span::Id,
            new: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, $S>,
        ) {
            self.$field.on_id_change(old, new, ctx);
        }

        unsafe fn downcast_raw(&self, id: std::any::TypeId) -> Option<*const ()> {
            if id == std::any::TypeId::of::<Self>() {
                return Some(self as *const Self as *const ());
            }
            // SAFETY: forwarded to the inner layer, which upholds downcast_raw's contract.
            unsafe { self.$field.downcast_raw(id) }
        }
    };
}

pub(crate) use forward_layer_methods;
